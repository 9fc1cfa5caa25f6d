"""Rule-based multi-touch attribution: last touch, first touch, linear.

Each rule spreads one unit of credit over a journey's events, for every
journey (converted or not), so the rows have the shape of
``ml.attribution.event_attribution`` and feed the same aggregate tables
(``event_type_attribution``, ``position_attribution``, ``store_attribution``):

    last_touch:  score_t = 1[t = n]          (the event just before the decision)
    first_touch: score_t = 1[t = 1]
    linear:      score_t = 1 / n

with t = 1..n the journey's events in position order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.attribution import EVENT_ATTRIBUTION_COLUMNS
from ml.baselines.paths import journey_ends, journey_paths, journey_starts

RULE_METHODS: tuple[str, ...] = ("last_touch", "first_touch", "linear")


def rule_scores(paths: pd.DataFrame, method: str) -> np.ndarray:
    """Per row of journey-sorted ``paths``: the rule's score (sums to 1 per journey)."""
    journey = paths["journey_id"].to_numpy()
    if method == "last_touch":
        return journey_ends(journey).astype(np.float64)
    if method == "first_touch":
        return journey_starts(journey).astype(np.float64)
    if method == "linear":
        lengths = paths.groupby("journey_id", sort=False)["journey_id"].transform("size").to_numpy()
        return 1.0 / lengths
    raise KeyError(f"unknown rule {method!r}; known: {list(RULE_METHODS)}")


def rule_attribution(
    sequences: pd.DataFrame,
    labels: pd.DataFrame,
    method: str,
    split: str | None = "test",
    max_len: int | None = None,
) -> pd.DataFrame:
    """event_attribution rows of a rule (``last_touch``, ``first_touch`` or ``linear``).

    Columns: method, journey_id, position, event, store_id, score, converted,
    signed_score (= score), sorted by journey_id then position; journeys as :func:`journey_paths`
    selects them (pass the model's ``max_len`` to score the same events).
    """
    if method not in RULE_METHODS:
        raise KeyError(f"unknown rule {method!r}; known: {list(RULE_METHODS)}")
    paths = journey_paths(sequences, labels, split=split, max_len=max_len)
    scores = rule_scores(paths, method)  # credit, never negative: signed and unsigned agree
    frame = paths[["journey_id", "position", "event", "store_id", "converted"]].assign(
        method=method, score=scores, signed_score=scores
    )
    return frame[EVENT_ATTRIBUTION_COLUMNS].reset_index(drop=True)
