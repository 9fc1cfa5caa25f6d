"""Journey paths for the baselines: the events of each labelled journey, in order, with its label."""

from __future__ import annotations

import numpy as np
import pandas as pd


def journey_paths(
    sequences: pd.DataFrame,
    labels: pd.DataFrame,
    split: str | None = "test",
    max_len: int | None = None,
) -> pd.DataFrame:
    """The sequences rows of the labelled ``split`` journeys, sorted, with ``converted``.

    ``sequences`` is a sequences mart (long format: journey_id, position, event,
    ...); ``labels`` holds journey_id, converted and, to filter by ``split``, a
    split column (else the sequences' own split column is used; ``split=None``
    keeps every journey). Rows are sorted by journey_id then position;
    ``converted`` is the journey's label (null = false). With ``max_len`` a
    journey keeps its last ``max_len`` events, as ``SequenceData`` does, so a
    baseline sees the events the models see. Journeys with labels but no
    events have no path and are left out (as the models leave them out).
    """
    label_rows = labels.drop_duplicates("journey_id").set_index("journey_id")
    if split is not None:
        source = label_rows["split"] if "split" in label_rows.columns else None
        if source is not None:
            keep_ids = source.index[source.astype(str) == split]
            paths = sequences[sequences["journey_id"].isin(keep_ids)]
        else:
            paths = sequences[(sequences["split"].astype(str) == split) & sequences["journey_id"].isin(label_rows.index)]
    else:
        paths = sequences[sequences["journey_id"].isin(label_rows.index)]
    paths = paths.sort_values(["journey_id", "position"], kind="stable")
    if max_len is not None:
        from_end = paths.groupby("journey_id", sort=False).cumcount(ascending=False).to_numpy()
        paths = paths[from_end < max_len]
    converted = label_rows["converted"].astype(object).fillna(False).astype(bool)
    paths = paths.assign(converted=converted.reindex(paths["journey_id"]).to_numpy())
    if "store_id" not in paths.columns:
        paths = paths.assign(store_id="NO_STORE")
    return paths.reset_index(drop=True)


def journey_starts(journey_id: np.ndarray) -> np.ndarray:
    """Boolean per row of a journey-sorted frame: the row opens its journey."""
    journey_id = np.asarray(journey_id)
    starts = np.ones(len(journey_id), dtype=bool)
    starts[1:] = journey_id[1:] != journey_id[:-1]
    return starts


def journey_ends(journey_id: np.ndarray) -> np.ndarray:
    """Boolean per row of a journey-sorted frame: the row closes its journey."""
    journey_id = np.asarray(journey_id)
    ends = np.ones(len(journey_id), dtype=bool)
    ends[:-1] = journey_id[:-1] != journey_id[1:]
    return ends
