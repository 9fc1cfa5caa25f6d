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
    test = metrics[metrics["split"] == "test"].pivot_table(index="variant", columns="model", values="auc")
    lines += ["", "Test AUC (with_funnel sees funnel events: the leakage comparison, never promoted)"]
    lines += ["  " + row for row in test.round(3).to_string().splitlines()]

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
        ].nlargest(5, "lift")
        lines += ["", f"Top events by lift ({best}, {HONEST_VARIANT}, {SUMMARY_METHOD})"]
        lines += [f"  {r.event:<28} lift {r.lift:6.2f}  (n={r.n_events})" for r in top.itertuples()]

    leakage = _read(outputs, "leakage_report")
    if leakage is not None:
        lines += ["", f"Leakage report ({best}): top events by counterfactual effect per variant"]
        for r in leakage[leakage["model"] == best].itertuples():
            lines.append(f"  {r.variant:<21} AUC {r.test_auc:.3f}  {r.top_events}")
        lines.append("  (funnel_excluded_only drops funnel events but keeps what happens after the order)")

    effects = _read(outputs, "counterfactual_effects")
    truth = _read(outputs, "simulator_truth")
    if effects is not None:
        ad = effects[(effects["intervention"] == "remove_ad_events") & (effects["variant"] == HONEST_VARIANT)]
        true_ad = None
        if truth is not None and (truth["intervention"] == "remove_ad_events").any():
            true_ad = float(truth.loc[truth["intervention"] == "remove_ad_events", "true_effect"].iloc[0])
        lines += ["", "Ad counterfactual: remove_ad_events (mean p - p without ad events, test journeys with ads)"]
        for r in ad.itertuples():
            versus = f"   truth {true_ad:+.4f}" if true_ad is not None else ""
            lines.append(
                f"  {r.model:<16} {r.effect:+.4f}  95% CI [{r.ci_low:+.4f}, {r.ci_high:+.4f}]  n={r.n_journeys}{versus}"
            )
        if true_ad is not None:
            lines.append("  (model-based effects absorb ad targeting of high-intent users: compare with truth)")

    lines += [
        "",
        "Outputs",
        f"  tables + figures: {outputs}",
        f"  warehouse:        {warehouse_path()} (schema journeylift)",
        f"  MLflow:           {mlflow_dir()} (mlflow ui --backend-store-uri sqlite:///{mlflow_dir() / 'mlflow.db'})",
        f"  Dagster:          {journeylift_home() / 'dagster'} (make dev, then http://127.0.0.1:3000)",
    ]
    return "\n".join(lines)


def print_summary(outputs: Path) -> None:
    print(summary_text(outputs))
