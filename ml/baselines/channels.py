"""Channel-level tables: one row per state (event name, or store), and their event_type_attribution
and store_attribution rows.

``markov_removal`` and ``shapley`` value an event name as a whole (a
"channel"), not each event of a journey. Their native table has columns

    method, event, value, share, n_events, n_journeys

with ``value`` the method's figure (removal effect, Shapley value), ``share``
= value / sum of values (the event's share of the conversion credit),
``n_events`` its rows and ``n_journeys`` the journeys holding it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CHANNEL_COLUMNS = ["method", "event", "value", "share", "n_events", "n_journeys"]
EVENT_TYPE_COLUMNS = ["method", "event", "mean_converted", "mean_not_converted", "lift", "n_events"]
STORE_COLUMNS = ["method", "store_id", "store_name", "mean_score", "n_events"]


def state_counts(paths: pd.DataFrame, state_column: str = "event") -> pd.DataFrame:
    """Per state: n_events (rows) and n_journeys (journeys holding it), sorted by state."""
    grouped = paths.groupby(state_column, observed=True)
    return pd.DataFrame(
        {"n_events": grouped.size(), "n_journeys": grouped["journey_id"].nunique()}
    ).sort_index()


def channel_table(method: str, states, values: np.ndarray, counts: pd.DataFrame) -> pd.DataFrame:
    """A CHANNEL_COLUMNS frame; ``counts`` from :func:`state_counts`, indexed by state."""
    values = np.asarray(values, dtype=np.float64)
    total = values.sum()
    counts = counts.reindex(list(states))
    return pd.DataFrame(
        {
            "method": method,
            "event": list(states),
            "value": values,
            "share": values / total if total != 0 else np.full(len(values), np.nan),
            "n_events": counts["n_events"].to_numpy(dtype=np.int64),
            "n_journeys": counts["n_journeys"].to_numpy(dtype=np.int64),
        },
        columns=CHANNEL_COLUMNS,
    )


def channel_event_type_attribution(channels: pd.DataFrame) -> pd.DataFrame:
    """event_type_attribution rows (design.md columns) from a channel table.

    A channel method scores no single journey, so it has no mean score in
    converted vs not-converted journeys. The columns then hold:

        mean_converted     = share_e: e's share of the conversion credit
        mean_not_converted = NaN
        lift               = share_e / (n_journeys_e / sum_f n_journeys_f)

    i.e. lift is the credit per journey holding e relative to the average
    event: 1 = as much credit as its reach, > 1 = more (the same reading as the
    lift of the per-event methods: above 1 drives conversion). NaN when the
    shares are undefined (no conversion at all).
    """
    reach = channels["n_journeys"] / channels["n_journeys"].sum()
    out = pd.DataFrame(
        {
            "method": channels["method"].to_numpy(),
            "event": channels["event"].to_numpy(),
            "mean_converted": channels["share"].to_numpy(dtype=np.float64),
            "mean_not_converted": np.nan,
            "lift": (channels["share"] / reach.where(reach > 0)).to_numpy(dtype=np.float64),
            "n_events": channels["n_events"].to_numpy(dtype=np.int64),
        },
        columns=EVENT_TYPE_COLUMNS,
    )
    return out


def channel_store_attribution(channels: pd.DataFrame, stores: pd.DataFrame | None = None) -> pd.DataFrame:
    """store_attribution rows (design.md columns) from a channel table whose states are stores
    (``state_column="store_id"``): mean_score holds the store's share of the conversion credit,
    as a channel method scores no single event. ``stores`` (store_id, store_name) names them."""
    names = pd.Series(dtype=object)
    if stores is not None:
        names = stores[["store_id", "store_name"]].drop_duplicates("store_id").set_index("store_id")["store_name"]
    store_ids = channels["event"].astype(str)
    return pd.DataFrame(
        {
            "method": channels["method"].to_numpy(),
            "store_id": store_ids.to_numpy(),
            "store_name": store_ids.map(names).fillna(store_ids).to_numpy(),
            "mean_score": channels["share"].to_numpy(dtype=np.float64),
            "n_events": channels["n_events"].to_numpy(dtype=np.int64),
        },
        columns=STORE_COLUMNS,
    )
