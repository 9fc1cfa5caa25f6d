"""A tiny planted-signal data set in the mart contract, for tests and examples."""

from __future__ import annotations

import numpy as np
import pandas as pd

# event -> event_type; the planted event is a store click, sponsored cards are impressions.
_EVENTS = {
    "m_card_view": "store_impression",
    "m_card_click": "store_click",
    "store_page_load": "store_page",
    "core_search": "search",
    "m_select_tab_explore": "navigation",
}
# Draw probabilities of the event names above: clicks are rare, as in real logs.
_EVENT_SHARES = [0.4, 0.06, 0.2, 0.19, 0.15]
_STORES = {
    "s1": ("Pizza Place", "pizza", "restaurant", True),
    "s2": ("Green Grocer", "grocery", "grocery", False),
    "s3": ("Sushi Bar", "sushi", "restaurant", True),
    "s4": ("Corner Shop", "convenience", "convenience", False),
}
_FEATURES = ["Core Search", "Traditional Carousel", "NO_FEATURE"]


def planted_signal_frames(
    n_journeys: int = 400,
    seed: int = 0,
    signal_event: str = "m_card_click",
    signal_logit: float = 2.5,
    base_logit: float = -1.5,
    max_events: int = 12,
    empty_share: float = 0.02,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sequences, labels) frames in the mart contract with one planted signal.

    Each journey draws 1..``max_events`` events from five event names (the
    default signal, ``m_card_click``, is the rarest at 6% of events);
    the conversion probability is

        p = sigmoid(base_logit + signal_logit * [journey holds signal_event]),

    so a model that learns the signal ranks journeys holding ``signal_event``
    above the others. Users map 1:1 to journeys and split 60/20/20 by user.
    A share ``empty_share`` of journeys has a label row but no events (as a
    journey whose cut sequence is empty). Columns follow DEVELOPERS.md.
    """
    rng = np.random.default_rng(seed)
    journey_ids = np.array([f"j{i:05d}" for i in range(n_journeys)], dtype=object)
    user_ids = np.array([f"u{i:05d}" for i in range(n_journeys)], dtype=object)
    split = rng.choice(["train", "validation", "test"], size=n_journeys, p=[0.6, 0.2, 0.2])
    lengths = rng.integers(1, max_events + 1, size=n_journeys)
    lengths[rng.random(n_journeys) < empty_share] = 0

    owner = np.repeat(np.arange(n_journeys), lengths)
    n_rows = len(owner)
    position = np.arange(n_rows) - np.repeat(np.cumsum(lengths) - lengths, lengths) + 1
    event_names = np.array(list(_EVENTS), dtype=object)
    event = event_names[rng.choice(len(event_names), size=n_rows, p=_EVENT_SHARES)]
    store_ids = np.array(list(_STORES), dtype=object)
    store = store_ids[rng.integers(0, len(store_ids), size=n_rows)]
    has_store = np.isin(event, ["m_card_view", "m_card_click", "store_page_load"])
    store = np.where(has_store, store, "NO_STORE")
    gap = np.where(position == 1, 0.0, rng.exponential(30.0, size=n_rows))
    started = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n_journeys) * 600, unit="s")
    elapsed = pd.Series(gap).groupby(owner).cumsum().to_numpy()
    event_at = started[owner] + pd.to_timedelta(elapsed, unit="s")

    def store_column(field: int, default):
        values = {sid: meta[field] for sid, meta in _STORES.items()}
        return np.array([values.get(s, default) for s in store], dtype=object)

    sequences = pd.DataFrame(
        {
            "journey_id": journey_ids[owner],
            "user_id": user_ids[owner],
            "split": split[owner],
            "position": position.astype(np.int64),
            "event_id": [f"e{i:07d}" for i in range(n_rows)],
            "event_at": event_at,
            "event_type": [_EVENTS[e] for e in event],
            "event": event,
            "discovery_feature": np.array(_FEATURES, dtype=object)[rng.integers(0, 3, size=n_rows)],
            "store_id": store,
            "store_name": store_column(0, "NO_STORE"),
            "primary_tag_name": store_column(1, "NO_STORE"),
            "primary_category_name": store_column(2, "NO_STORE"),
            "is_nv": store_column(3, False).astype(bool),
            "is_sponsored": (event == "m_card_view") & (rng.random(n_rows) < 0.4),
            "seconds_since_prev": gap,
        }
    )
    has_signal = np.bincount(owner[event == signal_event], minlength=n_journeys) > 0
    p = 1.0 / (1.0 + np.exp(-(base_logit + signal_logit * has_signal)))
    converted = rng.random(n_journeys) < p
    labels = pd.DataFrame(
        {
            "journey_id": journey_ids,
            "user_id": user_ids,
            "split": split,
            "journey_started_at": started,
            "converted": converted,
            "conversion_at": pd.Series(started + pd.Timedelta(hours=1)).where(converted),
            "n_events": lengths.astype(np.int64),
        }
    )
    return sequences, labels
