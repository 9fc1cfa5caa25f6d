"""The short summary a run ends with, written from its output tables.

:func:`summary_text` takes the tables by name (design.md's output tables, plus leakage_guard,
quarantine_counts, leaderboard, leakage_report, ad_effects and truth_scorecard); a table that
is absent (None) leaves its block out, so it reads the outputs of any source and any run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ml.data import HONEST_VARIANT
from ml.estimands import AD_EXPERIMENT_EXPOSED, EXPERIMENT_MODEL, REMOVE_AD_EVENTS, SWAP_AD_EVENTS
from ml.evaluation import best_honest_model, best_of_scorecard

SUMMARY_METHOD = "grad_x_input"
#: The tables :func:`summary_text` reads, when they exist.
SUMMARY_TABLES: tuple[str, ...] = (
    "model_metrics", "leakage_guard", "quarantine_counts", "leaderboard", "event_type_attribution",
    "leakage_report", "simulator_truth", "counterfactual_effects", "ad_effects", "truth_scorecard",
)


def summary_model(board: pd.DataFrame) -> str | None:
    """The model the summary reads attributions from: the promoted one, else the promotion
    candidate (the same rule picks both, see ml.evaluation.promotion_candidate)."""
    promoted = board[board["is_promoted"].astype(bool)] if "is_promoted" in board.columns else board.iloc[:0]
    return str(promoted["model"].iloc[0]) if len(promoted) else best_honest_model(board)


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
    if guard is not None:
        mode = guard["mode"].iloc[0]
        if guard["passed"].all():
            lines.append(f"Leakage guard ({mode}): passed, {guard['message'].iloc[0]} on {guard['table'].iloc[0]}")
        else:
            lines.append(f"Leakage guard ({mode}): FAILED on {guard['table'].iloc[0]}")
            lines += [f"  - {m}" for m in guard["message"]]
        if mode != "block":
            lines.append("  WARNING: JOURNEYLIFT_LEAKAGE_GUARD=warn, so a leak would not have stopped training")
    lines += quarantine_lines(tables.get("quarantine_counts"))
    test = metrics[metrics["split"] == "test"].pivot_table(index="variant", columns="model", values="auc", dropna=False)
    lines += ["", "Test AUC (with_funnel sees funnel events: the leakage comparison, never promoted)"]
    lines += ["  " + row for row in test.round(3).to_string().splitlines()]
    if test.isna().to_numpy().any():
        lines.append("  (NaN: AUC undefined, the test split holds journeys of one class only; see log_loss)")

    board = tables.get("leaderboard")
    best = None
    if board is not None:
        promoted = board[board["is_promoted"].astype(bool)]
        lines.append(
            f"Registered in MLflow: {promoted['model'].iloc[0]} ({HONEST_VARIANT})" if len(promoted)
            else "Registered in MLflow: none (see the leaderboard asset's promotion_reason)"
        )
        best = summary_model(board)

    event_types = tables.get("event_type_attribution")
    if event_types is not None and best is not None:
        top = event_types[
            (event_types["model"] == best)
            & (event_types["variant"] == HONEST_VARIANT)
            & (event_types["method"] == SUMMARY_METHOD)
        ]
        if "mean_signed_score" in top.columns and top["mean_signed_score"].notna().any():
            # The signed share says which way an event moves the prediction; the lift of the
            # unsigned shares ranks an event that lowers it as high as one that raises it.
            top = top.nlargest(5, "mean_signed_score")
            lines += ["", f"Top events by mean signed share ({best}, {HONEST_VARIANT}, {SUMMARY_METHOD})"]
            lines += [f"  {r.event:<28} {r.mean_signed_score:+.3f}  lift {r.lift:6.2f}  (n={r.n_events})"
                      for r in top.itertuples()]
        else:
            top = top.nlargest(5, "lift")
            lines += ["", f"Top events by lift ({best}, {HONEST_VARIANT}, {SUMMARY_METHOD})"]
            lines += [f"  {r.event:<28} lift {r.lift:6.2f}  (n={r.n_events})" for r in top.itertuples()]

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
        lines += ["", "Ad counterfactuals (honest models; mean p - p' over test journeys holding ads)"]
        lines += _effect_lines(honest, REMOVE_AD_EVENTS, true_effects)
        lines += _effect_lines(honest, SWAP_AD_EVENTS, true_effects, truth_key=AD_EXPERIMENT_EXPOSED)
    ad_effects = tables.get("ad_effects")
    if ad_effects is not None:
        experiment = ad_effects[ad_effects["model"] == EXPERIMENT_MODEL]
        if experiment.empty:
            lines.append("  WARNING: no randomized ad holdout: the model-based ad effects are confounded by targeting")
        else:
            lines.append("  randomized holdout (exposed treatment vs ghost-exposed holdout):")
            lines += _effect_lines(experiment, AD_EXPERIMENT_EXPOSED, true_effects)

    scorecard = tables.get("truth_scorecard")
    if scorecard is not None and len(scorecard):
        lines += ["", "Scored against the simulator's truth (best of each)"]
        for r in best_of_scorecard(scorecard).itertuples():
            lines.append(f"  {r.metric:<34} {r.value:+.3f}  {r.model} / {r.variant} / {r.method}")

    if locations:
        lines += ["", "Outputs"] + [f"  {what + ':':<17} {where}" for what, where in locations]
    return "\n".join(lines)


def _effect_lines(effects: pd.DataFrame, intervention: str, true_effects: dict, truth_key: str | None = None) -> list[str]:
    truth_key = truth_key or intervention
    rows = effects[effects["intervention"] == intervention]
    if len(rows) and (rows["n_journeys"] == 0).all():  # e.g. a real source without sponsored events
        return [f"  {intervention}: no test journey holds an ad event (is_sponsored), nothing to estimate"]
    true = true_effects.get(truth_key)
    versus = f"   truth {true:+.4f} ({truth_key})" if true is not None else ""
    return [
        f"  {r.model:<16} {intervention:<22} {r.effect:+.4f}  95% CI [{r.ci_low:+.4f}, {r.ci_high:+.4f}]  "
        f"n={r.n_journeys}{versus}"
        for r in rows.itertuples()
    ]
