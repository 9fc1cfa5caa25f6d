"""The leakage report: the same journeys under the honest variant and the leaky ones."""

from __future__ import annotations

import pandas as pd

from ml.estimands import REMOVE_EVENT_PREFIX


def leakage_comparison(metrics: pd.DataFrame, effects: pd.DataFrame, n_top: int = 5) -> pd.DataFrame:
    """One row per model and variant: test AUC and the top `n_top` events by counterfactual
    effect (`remove_event:<event>`), comma-joined, so a reader sees e.g. the orders tab turn
    into a "driver" once the sequence is not cut at the conversion moment.

    metrics: model_metrics rows (model, variant, split, auc); effects: counterfactual_effects rows.
    """
    test = metrics[metrics["split"] == "test"][["model", "variant", "auc"]].rename(columns={"auc": "test_auc"})
    tops = top_events(effects, n_top)
    joined = tops.groupby(["model", "variant"])["event"].agg(", ".join).rename("top_events").reset_index()
    return test.merge(joined, on=["model", "variant"], how="left").sort_values(["model", "variant"]).reset_index(drop=True)


def top_events(effects: pd.DataFrame, n_top: int = 5) -> pd.DataFrame:
    """model, variant, event, effect: the `n_top` largest per-event removal effects."""
    per_event = effects[effects["intervention"].str.startswith(REMOVE_EVENT_PREFIX)].dropna(subset=["effect"])
    per_event = per_event.assign(event=per_event["intervention"].str.removeprefix(REMOVE_EVENT_PREFIX))
    ranked = per_event.sort_values("effect", ascending=False).groupby(["model", "variant"], sort=False).head(n_top)
    return ranked[["model", "variant", "event", "effect"]].sort_values(
        ["model", "variant", "effect"], ascending=[True, True, False]
    ).reset_index(drop=True)
