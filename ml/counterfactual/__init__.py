"""What-if effects: re-predict journeys with events removed."""

from ml.counterfactual.effects import COUNTERFACTUAL_COLUMNS, bootstrap_mean_interval, counterfactual_effects
from ml.counterfactual.interventions import (
    REMOVE_AD_EVENTS,
    REMOVE_EVENT_PREFIX,
    all_event_interventions,
    default_interventions,
    intervention_mask,
    remove_events,
)

__all__ = [
    "COUNTERFACTUAL_COLUMNS",
    "REMOVE_AD_EVENTS",
    "REMOVE_EVENT_PREFIX",
    "all_event_interventions",
    "bootstrap_mean_interval",
    "counterfactual_effects",
    "default_interventions",
    "intervention_mask",
    "remove_events",
]
