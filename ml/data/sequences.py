"""Mart frames -> ragged per-journey feature arrays (:class:`SequenceData`).

The input is the long format of DEVELOPERS.md (one row per kept event) plus the
labels mart. Everything is vectorized over events: journeys are grouped by a
stable sort and ``np.bincount``, never by a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.data.vocabulary import Vocabulary

#: Categorical event features, one embedding table each (order = column order).
CATEGORICAL_FEATURES: tuple[str, ...] = (
    "event",
    "discovery_feature",
    "store_id",
    "store_name",
    "primary_tag_name",
    "primary_category_name",
)
#: Numeric event features (order = column order of ``SequenceData.numeric``).
NUMERIC_FEATURES: tuple[str, ...] = (
    "log_position",
    "log_seconds_since_prev",
    "is_nv",
    "is_sponsored",
)
#: Event columns kept next to the tensors, for attribution tables and interventions.
EVENT_COLUMNS: tuple[str, ...] = (
    "journey_id",
    "position",
    "event",
    "store_id",
    "store_name",
    "is_sponsored",
)
DEFAULT_MAX_LEN = 64
SPLITS: tuple[str, ...] = ("train", "validation", "test")


@dataclass(frozen=True)
class FeatureSpec:
    """What a model needs to size its input layers; ``SequenceData.spec`` builds it."""

    categorical_names: tuple[str, ...]
    vocab_sizes: tuple[int, ...]
    numeric_names: tuple[str, ...]
    max_len: int

    @property
    def n_categorical(self) -> int:
        return len(self.vocab_sizes)

    @property
    def n_numeric(self) -> int:
        return len(self.numeric_names)


@dataclass
class SequenceData:
    """Ragged event features of N journeys.

    Journey ``i`` owns the flat event rows ``offsets[i]:offsets[i + 1]``, in
    position order. ``categorical`` [E, F] holds vocabulary indices (>= 1),
    ``numeric`` [E, G] float32 features, ``events`` the matching raw columns
    (``EVENT_COLUMNS``) for attribution output. Per journey: ``journey_id``,
    ``split`` and ``label`` (1.0 converted, 0.0 not).
    """

    journey_id: np.ndarray
    split: np.ndarray
    label: np.ndarray
    offsets: np.ndarray
    categorical: np.ndarray
    numeric: np.ndarray
    events: pd.DataFrame
    vocabularies: dict[str, Vocabulary]
    max_len: int = DEFAULT_MAX_LEN
    labels_frame: pd.DataFrame = field(default=None, repr=False)

    @property
    def n_journeys(self) -> int:
        return len(self.journey_id)

    @property
    def n_events(self) -> int:
        return int(self.offsets[-1])

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def spec(self) -> FeatureSpec:
        return FeatureSpec(
            categorical_names=tuple(self.vocabularies),
            vocab_sizes=tuple(len(v) for v in self.vocabularies.values()),
            numeric_names=NUMERIC_FEATURES,
            max_len=self.max_len,
        )

    def indices(self, split: str | None = None) -> np.ndarray:
        """Journey indices of ``split`` (all journeys when None)."""
        if split is None:
            return np.arange(self.n_journeys)
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        return np.flatnonzero(self.split == split)

    def event_rows(self, journeys: np.ndarray) -> np.ndarray:
        """Flat event row numbers of ``journeys``, journey by journey, in position order."""
        journeys = np.asarray(journeys, dtype=np.int64)
        starts, lengths = self.offsets[journeys], self.lengths[journeys]
        total = int(lengths.sum())
        batch_starts = np.cumsum(lengths) - lengths
        return np.repeat(starts - batch_starts, lengths) + np.arange(total)

    def with_sequences(self, sequences: pd.DataFrame, journey_ids=None) -> "SequenceData":
        """The same vocabularies and labels over a modified sequences frame.

        For counterfactuals: ``sequences`` has events removed (see
        ``ml.counterfactual.remove_events``). ``journey_ids`` keeps journeys
        whose every event was removed, as zero-length (all-padding) journeys.
        """
        return build_sequence_data(
            sequences,
            self.labels_frame,
            max_len=self.max_len,
            vocabularies=self.vocabularies,
            journey_ids=journey_ids,
        )


def build_sequence_data(
    sequences: pd.DataFrame,
    labels: pd.DataFrame,
    max_len: int = DEFAULT_MAX_LEN,
    vocabularies: dict[str, Vocabulary] | None = None,
    journey_ids=None,
) -> SequenceData:
    """Build :class:`SequenceData` from the sequences and labels marts.

    Journeys are sorted by ``journey_id`` and events by ``position``. A journey
    longer than ``max_len`` keeps its last ``max_len`` events (the ones nearest
    the decision). Vocabularies are fitted on the train split only unless given.
    Journeys with labels but no events are left out, unless listed in
    ``journey_ids``, which fixes the journeys and their order exactly.

    Numeric features per event: ``log1p(position)``,
    ``log1p(max(seconds_since_prev, 0))``, ``is_nv`` and ``is_sponsored`` (0/1).
    """
    if max_len < 1:
        raise ValueError("max_len must be >= 1")
    # user_id rides along where the labels have it: families that pool a user's journeys read it.
    label_columns = ["journey_id", "converted", "split"] + (["user_id"] if "user_id" in labels.columns else [])
    label_rows = labels[label_columns].drop_duplicates("journey_id")
    label_rows = label_rows.set_index("journey_id")
    seq = sequences[sequences["journey_id"].isin(label_rows.index)]

    if journey_ids is None:
        ids = np.sort(pd.unique(seq["journey_id"]).astype(object))
    else:
        ids = np.asarray(list(journey_ids), dtype=object)
        missing = ~pd.Index(ids).isin(label_rows.index)
        if missing.any():
            raise KeyError(f"journeys without labels: {list(ids[missing][:5])}")
    code = pd.Index(ids).get_indexer(seq["journey_id"])
    seq = seq[code >= 0]
    code = code[code >= 0]
    order = np.lexsort((seq["position"].to_numpy(), code))
    seq, code = seq.iloc[order], code[order]

    # Keep each journey's last max_len events: rank from the end < max_len.
    n = len(ids)
    counts = np.bincount(code, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)])[:-1]
    rank_in_journey = np.arange(len(code)) - starts[code]
    keep = rank_in_journey >= counts[code] - max_len
    seq, code = seq[keep], code[keep]
    lengths = np.bincount(code, minlength=n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    split = label_rows["split"].reindex(ids).astype(str).to_numpy()
    converted = label_rows["converted"].reindex(ids).astype(object)
    label = converted.fillna(False).astype(bool).to_numpy().astype(np.float32)

    if vocabularies is None:
        train_rows = split[code] == "train"
        vocabularies = {
            name: Vocabulary.fit(seq[name][train_rows]) for name in CATEGORICAL_FEATURES
        }
    categorical = np.stack(
        [vocabularies[name].encode(seq[name]) for name in vocabularies], axis=1
    ).reshape(len(seq), len(vocabularies))
    numeric = _numeric_features(seq)
    events = seq[list(EVENT_COLUMNS)].reset_index(drop=True)
    return SequenceData(
        journey_id=ids,
        split=split,
        label=label,
        offsets=offsets,
        categorical=categorical,
        numeric=numeric,
        events=events,
        vocabularies=vocabularies,
        max_len=max_len,
        labels_frame=label_rows.reset_index(),
    )


def _flag(column: pd.Series) -> np.ndarray:
    # Nullable booleans from the warehouse: null means false (design.md).
    return column.astype(object).fillna(False).astype(bool).to_numpy().astype(np.float32)


def _numeric_features(seq: pd.DataFrame) -> np.ndarray:
    position = pd.to_numeric(seq["position"], errors="coerce").fillna(1).clip(lower=0)
    gap = pd.to_numeric(seq["seconds_since_prev"], errors="coerce").fillna(0).clip(lower=0)
    columns = [
        np.log1p(position.to_numpy(dtype=np.float64)),
        np.log1p(gap.to_numpy(dtype=np.float64)),
        _flag(seq["is_nv"]),
        _flag(seq["is_sponsored"]),
    ]
    return np.stack(columns, axis=1).astype(np.float32).reshape(len(seq), len(NUMERIC_FEATURES))
