"""Counterfactual effects: p(journey) - p(journey without some events)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.counterfactual.interventions import intervention_mask, remove_events
from ml.counterfactual.repredict import predict_edited
from ml.data import SequenceData
from ml.evaluation.metrics import predict_proba
from ml.models import SequenceModel

COUNTERFACTUAL_COLUMNS = [
    "intervention",
    "n_journeys",
    "p_factual",
    "p_counterfactual",
    "effect",
    "ci_low",
    "ci_high",
]


def bootstrap_mean_interval(
    values: np.ndarray, n_boot: int = 200, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (resampling the values)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    # Chunks keep the resample matrix small for large test sets.
    chunk = max(1, 2_000_000 // len(values))
    for start in range(0, n_boot, chunk):
        stop = min(start + chunk, n_boot)
        means[start:stop] = values[rng.integers(0, len(values), size=(stop - start, len(values)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def counterfactual_effects(
    model: SequenceModel,
    data: SequenceData,
    sequences: pd.DataFrame,
    interventions,
    split: str = "test",
    n_boot: int = 200,
    seed: int = 0,
    batch_size: int = 1024,
) -> pd.DataFrame:
    """The design.md estimand per intervention, with a bootstrap 95% interval.

    For the ``split`` journeys J that hold at least one event the intervention
    removes (over the whole journey, before any ``max_len`` cut):

        effect = (1/|J|) sum_{j in J} [p(j) - p(j without those events)]

    where the counterfactual journey is re-ranked (positions 1..k) and cut to
    the last ``max_len`` events like the factual one; a journey may lose all
    its events and is then predicted from no events. ``data`` is the factual
    SequenceData built from ``sequences`` (its vocabularies are reused).
    ci_low / ci_high: percentile bootstrap over journeys (``n_boot`` resamples).

    Columns: intervention, n_journeys, p_factual, p_counterfactual, effect,
    ci_low, ci_high (the caller adds run_id, model, variant).
    """
    journeys = data.indices(split)
    p_factual = pd.Series(predict_proba(model, data, split, batch_size), index=data.journey_id[journeys])
    in_split = sequences[sequences["journey_id"].isin(p_factual.index)]
    # Every intervention's edited journeys re-predicted in one pass (ml.counterfactual.repredict).
    affected_of, edits = [], []
    for intervention in interventions:
        drop = intervention_mask(in_split, intervention)
        affected = np.sort(pd.unique(in_split["journey_id"].to_numpy()[drop]).astype(object))
        affected_of.append(affected)
        if len(affected):
            touched = in_split["journey_id"].isin(affected).to_numpy()
            edits.append((remove_events(in_split[touched], drop[touched]), affected))
    predicted = iter(predict_edited(model, data, edits, batch_size))
    p_cf_of = [next(predicted) if len(affected) else None for affected in affected_of]
    p_f_of = [p_factual.reindex(affected).to_numpy() for affected in affected_of]
    rows = [effect_row(intervention, p_f, p_cf, n_boot, seed + number)
            for number, (intervention, p_f, p_cf) in enumerate(zip(interventions, p_f_of, p_cf_of))]
    return pd.DataFrame(rows, columns=COUNTERFACTUAL_COLUMNS)


def effect_row(intervention: str, p_factual: np.ndarray, p_counterfactual: np.ndarray | None, n_boot: int,
               seed: int) -> dict:
    """One COUNTERFACTUAL_COLUMNS row: the mean of p - p' over the affected journeys with its
    bootstrap interval; NaN figures and n_journeys 0 when no journey is affected."""
    if p_counterfactual is None or len(p_factual) == 0:
        return {"intervention": intervention, "n_journeys": 0, **dict.fromkeys(COUNTERFACTUAL_COLUMNS[2:], np.nan)}
    diff = p_factual - p_counterfactual
    low, high = bootstrap_mean_interval(diff, n_boot=n_boot, seed=seed)
    return {"intervention": intervention, "n_journeys": len(diff), "p_factual": float(p_factual.mean()),
            "p_counterfactual": float(p_counterfactual.mean()), "effect": float(diff.mean()),
            "ci_low": low, "ci_high": high}
