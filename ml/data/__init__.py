"""Mart frames -> tensors: vocabularies, ragged sequences, padded batches."""

from ml.data.batching import (
    JourneyBatch,
    LengthBucketSampler,
    RandomBatchSampler,
    collate_journeys,
    journey_loader,
)
from ml.data.sequences import (
    CATEGORICAL_FEATURES,
    DEFAULT_MAX_LEN,
    EVENT_COLUMNS,
    NUMERIC_FEATURES,
    SPLITS,
    FeatureSpec,
    SequenceData,
    build_sequence_data,
)
from ml.data.synthetic import planted_signal_frames
from ml.data.variants import HONEST_VARIANT, LEAKY_VARIANTS, VARIANTS
from ml.data.vocabulary import PAD_INDEX, UNKNOWN_INDEX, Vocabulary

__all__ = [
    "CATEGORICAL_FEATURES",
    "DEFAULT_MAX_LEN",
    "EVENT_COLUMNS",
    "HONEST_VARIANT",
    "LEAKY_VARIANTS",
    "NUMERIC_FEATURES",
    "PAD_INDEX",
    "SPLITS",
    "UNKNOWN_INDEX",
    "VARIANTS",
    "FeatureSpec",
    "JourneyBatch",
    "LengthBucketSampler",
    "RandomBatchSampler",
    "SequenceData",
    "Vocabulary",
    "build_sequence_data",
    "collate_journeys",
    "journey_loader",
    "planted_signal_frames",
]
