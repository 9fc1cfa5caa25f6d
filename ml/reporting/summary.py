"""The short summary a run ends with, written from its output tables.

:func:`summary_text` takes the tables by name (design.md's output tables, plus leakage_guard,
quarantine_counts, leaderboard, leakage_report, ad_effects, model_promotion and
truth_scorecard); a table that is absent (None) leaves its block out, so it reads the outputs of
any source and any run.

What a person reads first is the headline (:func:`headline_lines`): effects in probability
points with their intervals, each next to the simulator's truth where there is one and flagged
where the interval spans zero, then which model is registered and by which rule. Shares and
lifts come after, with what they mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ml.data import HONEST_VARIANT
from ml.estimands import (
    ABDUCTION_ESTIMATOR,
    AD_EXPERIMENT_EXPOSED,
    COUNTERFACTUAL_METHOD,
    ESTIMATOR_ASSUMPTIONS,
    EXPERIMENT_METHOD,
    EXPERIMENT_MODEL,
    GROUNDED_ABDUCTION_ESTIMATOR,
    REMOVE_AD_EVENTS,
    REMOVE_EVENT_PREFIX,
    REPREDICT_ESTIMATOR,
    SWAP_AD_EVENTS,
)
from ml.counterfactual.abduction import negative_control_departures
from ml.evaluation import best_honest_model, best_of_scorecard, promotion_candidate
from ml.evaluation.leaderboard import COUNT_BASELINE, scores_journeys

SUMMARY_METHOD = "grad_x_input"
#: The tables :func:`summary_text` reads, when they exist.
SUMMARY_TABLES: tuple[str, ...] = (
    "model_metrics", "leakage_guard", "quarantine_counts", "leaderboard", "event_type_attribution",
    "leakage_report", "simulator_truth", "counterfactual_effects", "ad_effects", "truth_scorecard",
    "model_promotion", "intent_grounding",
)
#: How the headline names an interval that holds zero.
SPANS_ZERO = "interval spans 0"
#: The truth-scorecard metric that scores a model's remove-and-re-predict ranking.
COUNTERFACTUAL_RANKING_METRIC = "spearman_counterfactual_vs_truth"
#: The one line that says what a share and a lift are (the figure's caption says the same).
LIFT_MEANING = ("share = the part of one journey's prediction the method gives an event (normalized within the "
                "journey); lift = an event type's mean share in converted journeys over its mean share in "
                "journeys that did not convert. Below 1 means the model leans on it less where journeys "
                "convert, not that the event lowers conversion: the effects above say which way it moves it.")


def summary_model(board: pd.DataFrame) -> str | None:
    """The model the summary reads attributions from: the promoted one, else the promotion
    candidate (the same rule picks both, see ml.evaluation.promotion_candidate)."""
    promoted = board[board["is_promoted"].astype(bool)] if "is_promoted" in board.columns else board.iloc[:0]
    return str(promoted["model"].iloc[0]) if len(promoted) else best_honest_model(board)


def spans_zero(low: float, high: float) -> bool:
    """True when the interval [low, high] holds zero (or is undefined): no sign can be read off."""
    return not (low > 0 or high < 0)


def points(value: float) -> str:
    """A probability difference in probability points, signed: 0.0291 -> '+2.9 pp'."""
    return "n/a" if pd.isna(value) else f"{100 * value:+.1f} pp"


def interval(low: float, high: float) -> str:
    return "[n/a]" if pd.isna(low) or pd.isna(high) else f"[{100 * low:+.1f}, {100 * high:+.1f}]"


def effect_rows(effects: pd.DataFrame, model: str, truth: pd.DataFrame | None) -> pd.DataFrame:
    """The headline's rows: `model`'s remove-and-re-predict effects on the honest journeys (each
    event type, and the ad events together), with the truth where there is one; largest first."""
    rows = effects[(effects["model"] == model) & (effects["variant"] == HONEST_VARIANT)
                   & ((effects["intervention"] == REMOVE_AD_EVENTS)
                      | effects["intervention"].str.startswith(REMOVE_EVENT_PREFIX))
                   & (effects["n_journeys"] > 0)]
    true = dict(zip(truth["intervention"], truth["true_effect"])) if truth is not None else {}
    rows = rows.assign(
        label=rows["intervention"].str.removeprefix(REMOVE_EVENT_PREFIX).replace({REMOVE_AD_EVENTS: "ad events (all)"}),
        true_effect=rows["intervention"].map(true).astype(float),
    )
    return rows.sort_values("effect", ascending=False, kind="stable")


def _flag(row) -> str:
    flags = []
    if spans_zero(row.ci_low, row.ci_high):
        flags.append(SPANS_ZERO)
    elif not pd.isna(row.true_effect) and np.sign(row.effect) != np.sign(row.true_effect) and abs(row.true_effect) >= 0.005:
        flags.append("sign disagrees with the truth")
    return "  " + "; ".join(flags) if flags else ""


def headline_lines(tables: Mapping[str, pd.DataFrame | None], model: str | None) -> list[str]:
    """Effects in probability points with intervals, next to the truth; the experiment's ad
    effect; how the ranking scores against the truth. [] when no counterfactual table exists."""
    effects, truth = tables.get("counterfactual_effects"), tables.get("simulator_truth")
    lines: list[str] = []
    if effects is not None and model is not None:
        rows = effect_rows(effects, model, truth)
        with_truth = truth is not None
        held = "estimator" in rows.columns and (rows["estimator"] == ABDUCTION_ESTIMATOR).any()
        how = ("intent inferred from the full journey and held, the events removed (abduction)" if held
               else "remove the events and re-predict")
        estimator = ABDUCTION_ESTIMATOR if held else REPREDICT_ESTIMATOR
        lines += [
            "", f"What moves conversion ({model}, {HONEST_VARIANT} journeys): {how}",
            f"  assumption: {ESTIMATOR_ASSUMPTIONS[estimator]}",
            "  effect = p(convert) with the events - p(convert) without them, in probability points (pp), "
            "mean over the test journeys that hold them, 95% bootstrap interval",
            f"  {'events removed':<24} {'effect':>9}  {'95% interval':<16}" + (f"{'truth':>9}" if with_truth else ""),
        ]
        for r in rows.itertuples():
            true = f"{points(r.true_effect):>9}" if with_truth else ""
            lines.append(f"  {r.label:<24} {points(r.effect):>9}  {interval(r.ci_low, r.ci_high):<16}{true}{_flag(r)}")
        if rows.empty:
            lines.append("  no test journey holds the events: nothing to estimate")
    lines += experiment_lines(tables.get("ad_effects"), truth)
    lines += ranking_lines(tables.get("truth_scorecard"), model)
    lines += intent_held_lines(tables.get("intent_grounding"), truth)
    return lines


def intent_held_lines(grounding: pd.DataFrame | None, truth: pd.DataFrame | None) -> list[str]:
    """The latent-intent model's effects with intent held (intent_grounding), the strength of intent
    they rest on and the assumption behind them; [] without that table."""
    if grounding is None or grounding.empty:
        return []
    model = str(grounding["model"].iloc[0])
    first = grounding.iloc[0]
    rows = effect_rows(grounding, model, truth)
    with_truth = truth is not None
    if first["estimator"] == GROUNDED_ABDUCTION_ESTIMATOR:
        strength = (f"strength of intent {first['intent_strength']:.2f} "
                    f"[{first['intent_strength_low']:.2f}, {first['intent_strength_high']:.2f}], fitted to the journeys "
                    "and the holdout")
    else:
        strength = f"strength of intent {first['intent_strength']:.2f}, from the functional form alone (no holdout)"
    lines = ["", f"What moves conversion with intent held ({model}, abduction: intent inferred from the full journey "
                 f"and kept when the events are removed; {strength})",
             f"  assumption: {first['assumption']}",
             f"  {'events removed':<24} {'effect':>9}  {'95% interval':<16}" + (f"{'truth':>9}" if with_truth else "")]
    for r in rows.itertuples():
        true = f"{points(r.true_effect):>9}" if with_truth else ""
        control = "  negative control" if getattr(r, "negative_control", False) else ""
        lines.append(f"  {r.label:<24} {points(r.effect):>9}  {interval(r.ci_low, r.ci_high):<16}{true}{_flag(r)}{control}")
    controls = grounding.loc[grounding["negative_control"].astype(bool), "intervention"].str.removeprefix(REMOVE_EVENT_PREFIX)
    if len(controls):
        away = negative_control_departures(grounding, controls)
        verdict = ("near zero: no sign of misspecification" if away.empty else
                   f"{', '.join(away['intervention'].str.removeprefix(REMOVE_EVENT_PREFIX))} away from zero: the model is "
                   "misspecified here (more than one intent, intent that moves within the journey, or a confounder "
                   "it cannot see) or fitted on too few journeys; do not believe these effects")
        lines.append(f"  Falsification (negative controls {', '.join(controls)}, known to do nothing): {verdict}")
    else:
        lines.append("  Falsification: no negative control named (IntentGroundingConfig.negative_controls), so nothing "
                     "tests the assumption here")
    return lines


def experiment_row(ad_effects: pd.DataFrame | None, truth: pd.DataFrame | None) -> pd.Series | None:
    """The randomized holdout's row of ad_effects with its true_effect (NaN without truth), or None."""
    if ad_effects is None or not (ad_effects["model"] == EXPERIMENT_MODEL).any():
        return None
    true = dict(zip(truth["intervention"], truth["true_effect"])) if truth is not None else {}
    row = ad_effects[ad_effects["model"] == EXPERIMENT_MODEL].iloc[0].copy()
    row["true_effect"] = true.get(AD_EXPERIMENT_EXPOSED, np.nan)
    return row


def experiment_lines(ad_effects: pd.DataFrame | None, truth: pd.DataFrame | None) -> list[str]:
    """The randomized holdout's ad effect (the one estimate no model's assumptions shape)."""
    if ad_effects is None:
        return []
    r = experiment_row(ad_effects, truth)
    if r is None:
        return ["  No randomized ad holdout: the model-based ad effects are confounded by targeting"]
    versus = f", truth {points(r['true_effect'])}" if not pd.isna(r["true_effect"]) else ""
    holdout = f", {int(r['n_holdout_journeys']):,} holdout" if "n_holdout_journeys" in r and not pd.isna(r["n_holdout_journeys"]) else ""
    lines = [f"  Ad effect in the randomized holdout (exposed vs ghost-exposed journeys): {points(r['effect'])} "
             f"{interval(r['ci_low'], r['ci_high'])}{versus}  (n={int(r['n_journeys']):,} exposed{holdout})"]
    if spans_zero(r["ci_low"], r["ci_high"]):
        lines.append(f"    {SPANS_ZERO}: this holdout is too small to tell the ad effect from none; "
                     "read the model-based ad effects with that in mind")
    return lines + [f"    assumption: {ESTIMATOR_ASSUMPTIONS[EXPERIMENT_METHOD]}"]


def ranking_lines(scorecard: pd.DataFrame | None, model: str | None) -> list[str]:
    """How the headline model's ranking scores against the truth, and every method whose ranking
    disagrees with it (Spearman <= 0)."""
    if scorecard is None or scorecard.empty:
        return []
    honest = scorecard[(scorecard["variant"] == HONEST_VARIANT) & scorecard["metric"].str.startswith("spearman")]
    lines = []
    own = honest[(honest["model"] == model) & (honest["metric"] == COUNTERFACTUAL_RANKING_METRIC)
                 & (honest["method"] == COUNTERFACTUAL_METHOD)]["value"].dropna()
    if len(own):
        lines.append(f"  Against the truth: this ranking's Spearman is {own.iloc[0]:+.2f} (1 = the true order)")
    # One entry per model and method: its worst-scored ranking (by lift, signed share or effect).
    disagree = (honest[honest["value"] <= 0].sort_values("value", kind="stable")
                .drop_duplicates(["model", "method"]))
    if len(disagree):
        named = ", ".join(f"{r.model}/{r.method} {r.value:+.2f} ({_ranking_of(r.metric)})"
                          for r in disagree.head(6).itertuples())
        more = f" and {len(disagree) - 6} more" if len(disagree) > 6 else ""
        lines.append(f"  Rankings that disagree with the truth (Spearman <= 0, truth_scorecard): {named}{more}")
    return lines


def _ranking_of(metric: str) -> str:
    """spearman_lift_vs_truth -> 'lift'."""
    return metric.removeprefix("spearman_").removesuffix("_vs_truth").replace("_", " ")


def registration_lines(board: pd.DataFrame, guard_passed: bool, promotion: pd.DataFrame | None) -> list[str]:
    """Which model is registered, by which rule, and why not the one with the higher test AUC."""
    decision = promotion_candidate(board, guard_passed)
    registered = board[board["is_promoted"].astype(bool)] if "is_promoted" in board.columns else board.iloc[:0]
    if len(registered):
        version = ""
        if promotion is not None and len(promotion) and not pd.isna(promotion["challenger_version"].iloc[-1]):
            version = f" as version {promotion['challenger_version'].iloc[-1]}"
        lines = [f"Registered in MLflow: {registered['model'].iloc[0]} ({HONEST_VARIANT}){version}, by the promotion rule: "
                 f"the honest sequence model with the best validation AUC, registered only when it beats "
                 f"{COUNT_BASELINE} on test AUC with the leakage guard passed"]
        honest = board[(board["variant"] == HONEST_VARIANT) & board["model"].map(scores_journeys).astype(bool)]
        top = honest.sort_values("test_auc", ascending=False, kind="stable").iloc[0]
        if top["model"] != registered["model"].iloc[0]:
            lines.append(f"  ({top['model']} has the higher test AUC, {top['test_auc']:.3f}: the rule chooses on "
                         "validation AUC so that the test split stays unseen for choosing)")
    else:
        lines = [f"Registered in MLflow: none ({decision.reason})"]
    if promotion is not None and len(promotion):
        last = promotion.iloc[-1]
        lines.append(f"  Champion (scores new journeys): version {last['champion_version']}: {last['reason']}")
    return lines


def quarantine_lines(counts: pd.DataFrame | None) -> list[str]:
    """Raw events accepted and quarantined per reason (quarantine_counts); [] before a run."""
    if counts is None:
        return []
    raw = int(counts["n_events"].sum())
    quarantined = counts[counts["status"] == "quarantined"]
    n = int(quarantined["n_events"].sum())
    reattached = int(counts.loc[counts["status"] == "repaired", "n_events"].sum())
    repaired = [f"  {reattached:,} events without session_id joined their user's session "
                "(int_events_sessionized.is_session_reattached)"] if reattached else []
    if n == 0:
        return [f"Quarantine: none of {raw:,} raw events", *repaired]
    lines = [f"Quarantine: {n:,} of {raw:,} raw events quarantined ({n / max(raw, 1):.2%}), "
             "the run went on with the rest (rows in staging.quarantine_events)"]
    return lines + [f"  {r.reason:<30} {int(r.n_events):>8,}" for r in quarantined.itertuples()] + repaired


def summary_text(tables: Mapping[str, pd.DataFrame | None], locations: Sequence[tuple[str, str]] = ()) -> str:
    """The summary of one run's ``tables`` (by name; absent ones are None or missing), ending
    with ``locations``: (what, where) pairs such as the outputs folder and the warehouse."""
    lines = ["", "== journeylift summary =="]
    metrics = tables.get("model_metrics")
    if metrics is None:
        where = dict(locations).get("tables + figures", "the outputs folder")
        return "\n".join(lines + [f"no outputs yet under {where}: run `make run`."])
    lines.append(f"run_id: {metrics['run_id'].iloc[0]}")
    guard = tables.get("leakage_guard")
    guard_passed = True
    if guard is not None:
        mode = guard["mode"].iloc[0]
        guard_passed = bool(guard["passed"].all())
        if guard_passed:
            lines.append(f"Leakage guard ({mode}): passed, {guard['message'].iloc[0]} on {guard['table'].iloc[0]}")
        else:
            lines.append(f"Leakage guard ({mode}): FAILED on {guard['table'].iloc[0]}")
            lines += [f"  - {m}" for m in guard["message"]]
        if mode != "block":
            lines.append("  WARNING: JOURNEYLIFT_LEAKAGE_GUARD=warn, so a leak would not have stopped training")
    lines += quarantine_lines(tables.get("quarantine_counts"))

    board = tables.get("leaderboard")
    best = summary_model(board) if board is not None else None
    lines += headline_lines(tables, best)
    if board is not None:
        lines += [""] + registration_lines(board, guard_passed, tables.get("model_promotion"))

    test_rows = metrics[metrics["split"] == "test"]
    test = test_rows.pivot_table(index="variant", columns="model", values="auc", dropna=False)
    trained = test_rows.assign(trained=True).pivot_table(index="variant", columns="model", values="trained",
                                                         aggfunc="any", fill_value=False).reindex_like(test)
    shown = test.round(3).astype(object).where(trained.fillna(False).astype(bool), "-")
    lines += ["", "Test AUC (with_funnel sees funnel events: the leakage comparison, never promoted)"]
    lines += ["  " + row for row in shown.to_string().splitlines()]
    if test.isna().to_numpy()[trained.fillna(False).to_numpy(dtype=bool)].any():
        lines.append("  (NaN: AUC undefined, the test split holds journeys of one class only; see log_loss)")
    if not trained.fillna(False).to_numpy(dtype=bool).all():
        lines.append("  (-: not trained on that variant; JOURNEYLIFT_LEAKAGE_MODELS=all trains every family on the "
                     "leaky variants)")

    event_types = tables.get("event_type_attribution")
    if event_types is not None and best is not None:
        top = event_types[
            (event_types["model"] == best)
            & (event_types["variant"] == HONEST_VARIANT)
            & (event_types["method"] == SUMMARY_METHOD)
        ]
        signed = "mean_signed_score" in top.columns and top["mean_signed_score"].notna().any()
        top = top.nlargest(5, "mean_signed_score" if signed else "lift")
        lines += ["", f"Shares and lifts ({best}, {HONEST_VARIANT}, {SUMMARY_METHOD}): how the model spreads its "
                      "prediction over a journey's events, not effects", f"  {LIFT_MEANING}"]
        for r in top.itertuples():
            share = f"mean share {r.mean_signed_score:+.3f}  " if signed else ""
            lines.append(f"  {r.event:<28} {share}lift {r.lift:5.2f}  (n={r.n_events})")

    leakage = tables.get("leakage_report")
    if leakage is not None and best is not None:
        lines += ["", f"Leakage report ({best}): top events by counterfactual effect per variant"]
        for r in leakage[leakage["model"] == best].itertuples():
            lines.append(f"  {r.variant:<21} AUC {r.test_auc:.3f}  {r.top_events}")
        lines.append("  (funnel_excluded_only drops funnel events but keeps what happens after the order)")

    truth = tables.get("simulator_truth")
    true_effects = dict(zip(truth["intervention"], truth["true_effect"])) if truth is not None else {}
    effects = tables.get("counterfactual_effects")
    if effects is not None:
        honest = effects[effects["variant"] == HONEST_VARIANT]
        lines += ["", "Ad counterfactuals, every honest model (mean p - p' over test journeys holding ads, in pp)"]
        lines += _effect_lines(honest, REMOVE_AD_EVENTS, true_effects)
        lines += _effect_lines(honest, SWAP_AD_EVENTS, true_effects, truth_key=AD_EXPERIMENT_EXPOSED)

    scorecard = tables.get("truth_scorecard")
    if scorecard is not None and len(scorecard):
        lines += ["", "Scored against the simulator's truth (best of each)"]
        for r in best_of_scorecard(scorecard).itertuples():
            lines.append(f"  {r.metric:<34} {r.value:+.3f}  {r.model} / {r.variant} / {r.method}")
        lines.append("  (method: counterfactual = remove and re-predict, intent re-read from the edited journey; "
                     "abduction = intent held; abduction_grounded = intent held, its strength fitted to the holdout; "
                     "the others attribute a share of the prediction. truth_scorecard.assumption says what each rests on)")

    if locations:
        lines += ["", "Outputs"] + [f"  {what + ':':<17} {where}" for what, where in locations]
    return "\n".join(lines)


def _effect_lines(effects: pd.DataFrame, intervention: str, true_effects: dict, truth_key: str | None = None) -> list[str]:
    truth_key = truth_key or intervention
    rows = effects[effects["intervention"] == intervention]
    if len(rows) and (rows["n_journeys"] == 0).all():  # e.g. a real source without sponsored events
        return [f"  {intervention}: no test journey holds an ad event (is_sponsored), nothing to estimate"]
    true = true_effects.get(truth_key)
    versus = f"   truth {points(true)} ({truth_key})" if true is not None else ""
    return [
        f"  {r.model:<16} {intervention:<22} {points(r.effect):>9}  {interval(r.ci_low, r.ci_high):<16} "
        f"n={r.n_journeys}{versus}{'  ' + SPANS_ZERO if spans_zero(r.ci_low, r.ci_high) else ''}"
        for r in rows.itertuples()
    ]
