"""Interventions on the sequences mart: which events to remove, and removing them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.estimands import REMOVE_AD_EVENTS, REMOVE_EVENT_PREFIX, SWAP_AD_EVENT_PREFIX, SWAP_AD_EVENTS


def all_event_interventions(sequences: pd.DataFrame) -> list[str]:
    """``remove_event:<event>`` for every event name present, sorted."""
    return [f"{REMOVE_EVENT_PREFIX}{name}" for name in sorted(pd.unique(sequences["event"].dropna()))]


def default_interventions(sequences: pd.DataFrame) -> list[str]:
    """``remove_ad_events`` followed by :func:`all_event_interventions`."""
    return [REMOVE_AD_EVENTS, *all_event_interventions(sequences)]


def swap_interventions(sequences: pd.DataFrame) -> list[str]:
    """``swap_ad_events``, then ``swap_ad_events:<event>`` for every event sponsored somewhere in
    ``sequences``, sorted."""
    sponsored = intervention_mask(sequences, REMOVE_AD_EVENTS)
    names = sorted(pd.unique(sequences.loc[sponsored, "event"].dropna()))
    return [SWAP_AD_EVENTS, *(f"{SWAP_AD_EVENT_PREFIX}{name}" for name in names)]


def intervention_mask(sequences: pd.DataFrame, intervention: str) -> np.ndarray:
    """Boolean array over ``sequences`` rows: true on the events ``intervention`` removes or, for a
    swap, shows as organic.

    ``remove_ad_events`` removes sponsored events (``is_sponsored``, null =
    false); ``remove_event:<event>`` removes events named ``<event>``;
    ``swap_ad_events`` swaps every sponsored event, ``swap_ad_events:<event>``
    the sponsored events named ``<event>``.
    """
    sponsored = sequences["is_sponsored"].astype(object).fillna(False).astype(bool).to_numpy()
    if intervention in (REMOVE_AD_EVENTS, SWAP_AD_EVENTS):
        return sponsored
    if intervention.startswith(SWAP_AD_EVENT_PREFIX):
        return sponsored & (sequences["event"] == intervention[len(SWAP_AD_EVENT_PREFIX):]).fillna(False).to_numpy(dtype=bool)
    if intervention.startswith(REMOVE_EVENT_PREFIX):
        return (sequences["event"] == intervention[len(REMOVE_EVENT_PREFIX) :]).fillna(False).to_numpy(dtype=bool)
    raise ValueError(
        f"unknown intervention {intervention!r}; expected {REMOVE_AD_EVENTS!r}, '{REMOVE_EVENT_PREFIX}<event>', "
        f"{SWAP_AD_EVENTS!r} or '{SWAP_AD_EVENT_PREFIX}<event>'"
    )


def remove_events(sequences: pd.DataFrame, drop) -> pd.DataFrame:
    """``sequences`` without the rows where ``drop`` is true, re-ranked as the mart would.

    position becomes 1..k within each journey (in the old order), and
    seconds_since_prev the gap to the previous kept event (0 for the first),
    computed from ``event_at`` when the frame has it.
    """
    kept = sequences[~np.asarray(drop, dtype=bool)]
    kept = kept.sort_values(["journey_id", "position"], kind="stable")
    journey = kept["journey_id"]
    kept = kept.assign(position=journey.groupby(journey, sort=False).cumcount().to_numpy() + 1)
    if "event_at" in kept.columns:
        gap = kept["event_at"].groupby(journey, sort=False).diff().dt.total_seconds()
        kept = kept.assign(seconds_since_prev=gap.fillna(0.0).to_numpy())
    return kept.reset_index(drop=True)
