r"""Faithfulness of attribution methods: deletion and insertion curves (Petsiuk et al., RISE, 2018).

For each journey j with n_j attributed events, order its events by a method's
signed score (descending; ties in a seeded random order) and, for each
fraction f in ``fractions``, let k_j = round(f n_j):

    deletion(f)  = mean_j p(j without its top-k_j events)
    insertion(f) = mean_j p(j holding only its top-k_j events)

re-predicted by the model, the shortened journey re-ranked 1..k as the
counterfactuals do (``ml.counterfactual.remove_events`` then
``ml.counterfactual.predict_edited``; a journey may become empty). The area under
each curve over f in [0, 1] (trapezoids) summarizes it: a faithful method's
deletion curve drops fast (small ``deletion_auc``) and its insertion curve
rises fast (large ``insertion_auc``). A seeded random order is the floor every
method must beat.

The order is by ``signed_score`` where the rows have one (gradient methods:
the events that raise the logit most come first, those that lower it last),
else by ``score``. Ordering gradients by their magnitude would delete the
events that *lower* the prediction among the first, and so raise it.

Only events that carry a score are ever removed or inserted: events cut
from a journey longer than the model's ``max_len`` (which the attribution
tables do not score) stay in the deletion journeys and are absent from the
insertion ones. Every method should score the same journeys and events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.counterfactual import remove_events
from ml.counterfactual.repredict import predict_edited
from ml.data import SequenceData
from ml.models import SequenceModel

CURVES: tuple[str, ...] = ("deletion", "insertion")
DEFAULT_FRACTIONS: tuple[float, ...] = tuple(np.round(np.linspace(0.0, 1.0, 11), 10))
RANDOM_METHOD = "random"
CURVE_COLUMNS = ["method", "curve", "step", "mean_p", "n_journeys"]
SUMMARY_COLUMNS = ["method", "deletion_auc", "insertion_auc", "random_deletion_auc", "random_insertion_auc"]


def _ranks(journey: np.ndarray, score: np.ndarray, tiebreak: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: 0-based rank by descending score within its journey, and the journey's scored count.

    Unscored rows (NaN) get rank n (never selected) and do not count.
    """
    scored = ~np.isnan(score)
    codes = pd.factorize(journey)[0]
    order = np.lexsort((tiebreak, -np.where(scored, score, -np.inf), codes))
    sorted_codes = codes[order]
    first = np.searchsorted(sorted_codes, sorted_codes, side="left")
    rank = np.empty(len(journey), dtype=np.int64)
    rank[order] = np.arange(len(journey)) - first
    n_scored = np.bincount(codes, weights=scored, minlength=codes.max(initial=-1) + 1)[codes]
    return np.where(scored, rank, np.iinfo(np.int64).max), n_scored


def faithfulness_curves(
    model: SequenceModel,
    data: SequenceData,
    sequences: pd.DataFrame,
    event_attr: pd.DataFrame,
    fractions=DEFAULT_FRACTIONS,
    seed: int = 0,
    batch_size: int = 1024,
) -> pd.DataFrame:
    """Deletion and insertion curves of every method in ``event_attr``, plus ``random``.

    ``event_attr``: event_attribution rows (method, journey_id, position,
    score and optionally signed_score, which then sets the order; several
    methods at once); ``sequences`` the mart ``data`` was built
    from. Columns: method, curve (``deletion`` / ``insertion``), step (the
    fraction f), mean_p, n_journeys. Cost: the attributed journeys once per distinct
    (method, curve, step) edit, all edits stacked into one prediction pass.
    """
    fractions = np.asarray(fractions, dtype=np.float64)
    journeys = np.sort(pd.unique(event_attr["journey_id"]).astype(object))
    base = sequences[sequences["journey_id"].isin(journeys)].sort_values(["journey_id", "position"], kind="stable")
    base = base.reset_index(drop=True)
    journey = base["journey_id"].to_numpy()
    keys = pd.MultiIndex.from_frame(base[["journey_id", "position"]])
    rng = np.random.default_rng(seed)
    tiebreak = rng.random(len(base))

    column = "signed_score" if "signed_score" in event_attr.columns else "score"
    scores = {}
    for method, rows in event_attr.groupby("method", sort=True):
        where = keys.get_indexer(pd.MultiIndex.from_frame(rows[["journey_id", "position"]]))
        score = np.full(len(base), np.nan)
        values = rows[column].fillna(rows["score"]).to_numpy(dtype=np.float64)
        score[where[where >= 0]] = values[where >= 0]
        scores[method] = score
    any_scored = np.logical_or.reduce([~np.isnan(s) for s in scores.values()]) if scores else np.zeros(len(base), bool)
    scores[RANDOM_METHOD] = np.where(any_scored, rng.random(len(base)), np.nan)

    # Every (method, curve, step) is one set of events dropped; identical sets are predicted once,
    # and all of them in one pass (ml.counterfactual.repredict).
    masks: dict[bytes, int] = {}
    edits, rows = [], []
    for method, score in scores.items():
        rank, n_scored = _ranks(journey, score, tiebreak)
        for fraction in fractions:
            top = rank < np.floor(fraction * n_scored + 0.5)
            for curve, drop in (("deletion", top), ("insertion", ~top)):
                key = np.packbits(drop).tobytes()
                if key not in masks:
                    masks[key] = len(edits)
                    edits.append((remove_events(base, drop), journeys))
                rows.append((method, curve, float(fraction), masks[key], len(journeys)))
    means = [float(p.mean()) for p in predict_edited(model, data, edits, batch_size)]
    rows = [(method, curve, step, means[edit], n) for method, curve, step, edit, n in rows]
    curves = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    return curves.sort_values(["method", "curve", "step"], kind="stable").reset_index(drop=True)


def faithfulness_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Area under each curve (trapezoids over step in [0, 1]) per method, next to random order's.

    Columns: method, deletion_auc (lower is more faithful), insertion_auc
    (higher is more faithful), random_deletion_auc, random_insertion_auc.
    """
    areas = (
        curves.sort_values("step")
        .groupby(["method", "curve"])
        .apply(lambda c: float(np.trapezoid(c["mean_p"], c["step"])), include_groups=False)
        .unstack("curve")
    )
    random = areas.loc[RANDOM_METHOD] if RANDOM_METHOD in areas.index else pd.Series({c: np.nan for c in CURVES})
    methods = areas.drop(index=RANDOM_METHOD, errors="ignore")
    return pd.DataFrame(
        {
            "method": methods.index.to_numpy(),
            "deletion_auc": methods["deletion"].to_numpy(),
            "insertion_auc": methods["insertion"].to_numpy(),
            "random_deletion_auc": random["deletion"],
            "random_insertion_auc": random["insertion"],
        },
        columns=SUMMARY_COLUMNS,
    )


def faithfulness(
    model: SequenceModel,
    data: SequenceData,
    sequences: pd.DataFrame,
    event_attr: pd.DataFrame,
    fractions=DEFAULT_FRACTIONS,
    seed: int = 0,
    batch_size: int = 1024,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(curves, summary): :func:`faithfulness_curves` and its :func:`faithfulness_summary`."""
    curves = faithfulness_curves(model, data, sequences, event_attr, fractions, seed, batch_size)
    return curves, faithfulness_summary(curves)
