"""The short summary `make run` ends with, read back from the output CSVs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dagster_project.settings import journeylift_home, mlflow_dir, warehouse_path

HONEST_VARIANT = "no_funnel"
SUMMARY_METHOD = "grad_x_input"


def _read(outputs: Path, name: str) -> pd.DataFrame | None:
    path = outputs / f"{name}.csv"
    return pd.read_csv(path) if path.exists() else None


def best_honest_model(metrics: pd.DataFrame) -> str:
    """The no_funnel model with the highest validation AUC (test AUC stays unseen for choosing)."""
    honest = metrics[(metrics["variant"] == HONEST_VARIANT) & (metrics["split"] == "validation")]
    return str(honest.sort_values("auc", ascending=False)["model"].iloc[0])


def quarantine_lines(outputs: Path) -> list[str]:
    """Raw events accepted and quarantined per reason (outputs/quarantine_counts.csv); [] before a run."""
    counts = _read(outputs, "quarantine_counts")
    if counts is None:
        return []
    raw = int(counts["n_events"].sum())
    quarantined = counts[counts["status"] == "quarantined"]
    n = int(quarantined["n_events"].sum())
    if n == 0:
        return [f"Quarantine: none of {raw:,} raw events"]
    lines = [f"Quarantine: {n:,} of {raw:,} raw events quarantined ({n / max(raw, 1):.2%}), "
             "the run went on with the rest (rows in staging.quarantine_events)"]
    return lines + [f"  {r.reason:<30} {int(r.n_events):>8,}" for r in quarantined.itertuples()]


def summary_text(outputs: Path) -> str:
    lines = ["", "== journeylift summary =="]
    metrics = _read(outputs, "model_metrics")
    if metrics is None:
        return "\n".join(lines + [f"no outputs yet under {outputs}: run `make run`."])
    lines.append(f"run_id: {metrics['run_id'].iloc[0]}")
    guard = _read(outputs, "leakage_guard")
    if guard is not None:
        mode = guard["mode"].iloc[0]
        if guard["passed"].all():
            lines.append(f"Leakage guard ({mode}): passed, {guard['message'].iloc[0]} on {guard['table'].iloc[0]}")
        else:
            lines.append(f"Leakage guard ({mode}): FAILED on {guard['table'].iloc[0]}")
            lines += [f"  - {m}" for m in guard["message"]]
        if mode != "block":
            lines.append("  WARNING: JOURNEYLIFT_LEAKAGE_GUARD=warn, so a leak would not have stopped training")
    lines += quarantine_lines(outputs)
    test = metrics[metrics["split"] == "test"].pivot_table(index="variant", columns="model", values="auc", dropna=False)
    lines += ["", "Test AUC (with_funnel sees funnel events: the leakage comparison, never promoted)"]
    lines += ["  " + row for row in test.round(3).to_string().splitlines()]
    if test.isna().to_numpy().any():
        lines.append("  (NaN: AUC undefined, the test split holds journeys of one class only; see log_loss)")

    board = _read(outputs, "leaderboard")
    if board is not None:
        promoted = board[board["is_promoted"]]
        lines.append(
            f"Registered in MLflow: {promoted['model'].iloc[0]} ({HONEST_VARIANT})" if len(promoted)
            else "Registered in MLflow: none (see the leaderboard asset's promotion_reason)"
        )

    best = best_honest_model(metrics)
    event_types = _read(outputs, "event_type_attribution")
    if event_types is not None:
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

    leakage = _read(outputs, "leakage_report")
    if leakage is not None:
        lines += ["", f"Leakage report ({best}): top events by counterfactual effect per variant"]
        for r in leakage[leakage["model"] == best].itertuples():
            lines.append(f"  {r.variant:<21} AUC {r.test_auc:.3f}  {r.top_events}")
        lines.append("  (funnel_excluded_only drops funnel events but keeps what happens after the order)")

    truth = _read(outputs, "simulator_truth")
    true_effects = dict(zip(truth["intervention"], truth["true_effect"])) if truth is not None else {}
    effects = _read(outputs, "counterfactual_effects")
    if effects is not None:
        lines += ["", "Ad counterfactuals (honest models; mean p - p' over test journeys holding ads)"]
        lines += _effect_lines(effects[effects["variant"] == HONEST_VARIANT], "remove_ad_events", true_effects)
        lines += _effect_lines(effects[effects["variant"] == HONEST_VARIANT], "swap_ad_events", true_effects,
                               truth_key="ad_experiment_exposed")
    ad_effects = _read(outputs, "ad_effects")
    if ad_effects is not None:
        experiment = ad_effects[ad_effects["model"] == "experiment"]
        if experiment.empty:
            lines.append("  WARNING: no randomized ad holdout: the model-based ad effects are confounded by targeting")
        else:
            lines.append("  randomized holdout (exposed treatment vs ghost-exposed holdout):")
            lines += _effect_lines(experiment, "ad_experiment_exposed", true_effects)

    scorecard = _read(outputs, "truth_scorecard")
    if scorecard is not None and len(scorecard):
        from ml.evaluation import best_of_scorecard

        lines += ["", "Scored against the simulator's truth (best of each)"]
        for r in best_of_scorecard(scorecard).itertuples():
            lines.append(f"  {r.metric:<34} {r.value:+.3f}  {r.model} / {r.variant} / {r.method}")

    lines += [
        "",
        "Outputs",
        f"  tables + figures: {outputs}",
        f"  warehouse:        {warehouse_path()} (schema journeylift)",
        f"  MLflow:           {mlflow_dir()} (mlflow ui --backend-store-uri sqlite:///{mlflow_dir() / 'mlflow.db'})",
        f"  Dagster:          {journeylift_home() / 'dagster'} (make dev, then http://127.0.0.1:3000)",
    ]
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
        for r in effects[effects["intervention"] == intervention].itertuples()
    ]


def print_summary(outputs: Path) -> None:
    print(summary_text(outputs))
