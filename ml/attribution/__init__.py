"""Which events drive conversion: per-event attribution methods and their tables."""

from ml.attribution.methods import (
    ATTRIBUTION_METHODS,
    AttentionAttribution,
    GradientXInput,
    IntegratedGradients,
    methods_for,
    normalize_scores,
)
from ml.attribution.tables import (
    EVENT_ATTRIBUTION_COLUMNS,
    POSITION_BUCKETS,
    event_attribution,
    event_type_attribution,
    position_attribution,
    position_bucket,
    store_attribution,
)

__all__ = [
    "ATTRIBUTION_METHODS",
    "EVENT_ATTRIBUTION_COLUMNS",
    "POSITION_BUCKETS",
    "AttentionAttribution",
    "GradientXInput",
    "IntegratedGradients",
    "event_attribution",
    "event_type_attribution",
    "methods_for",
    "normalize_scores",
    "position_attribution",
    "position_bucket",
    "store_attribution",
]
