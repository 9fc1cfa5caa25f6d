"""What-if effects: re-predict journeys with events removed."""

from ml.counterfactual.effects import COUNTERFACTUAL_COLUMNS, bootstrap_mean_interval, counterfactual_effects
from ml.counterfactual.experiment import (
    AD_EXPERIMENT_EXPOSED,
    EXPERIMENT_COLUMNS,
    EXPERIMENT_MODEL,
    NO_EXPERIMENT_WARNING,
    SWAP_AD_EVENT_PREFIX,
    SWAP_AD_EVENTS,
    ad_effects_table,
    calibrate_ad_effects,
    experiment_effect,
    has_experiment,
    sponsorship_effects,
)
from ml.counterfactual.repredict import predict_edited
from ml.counterfactual.abduction import (
    NEGATIVE_CONTROL_TOLERANCE,
    Grounding,
    abduction_effects,
    ground_intent_strength,
    negative_control_departures,
)
from ml.counterfactual.estimators import holds_intent, model_effects
from ml.counterfactual.interventions import (
    REMOVE_AD_EVENTS,
    REMOVE_EVENT_PREFIX,
    all_event_interventions,
    default_interventions,
    intervention_mask,
    remove_events,
    swap_interventions,
)

__all__ = [
    "Grounding",
    "NEGATIVE_CONTROL_TOLERANCE",
    "negative_control_departures",
    "abduction_effects",
    "ground_intent_strength",
    "holds_intent",
    "model_effects",
    "AD_EXPERIMENT_EXPOSED",
    "EXPERIMENT_COLUMNS",
    "EXPERIMENT_MODEL",
    "NO_EXPERIMENT_WARNING",
    "ad_effects_table",
    "has_experiment",
    "SWAP_AD_EVENT_PREFIX",
    "SWAP_AD_EVENTS",
    "calibrate_ad_effects",
    "experiment_effect",
    "sponsorship_effects",
    "COUNTERFACTUAL_COLUMNS",
    "REMOVE_AD_EVENTS",
    "REMOVE_EVENT_PREFIX",
    "all_event_interventions",
    "bootstrap_mean_interval",
    "counterfactual_effects",
    "default_interventions",
    "intervention_mask",
    "predict_edited",
    "remove_events",
    "swap_interventions",
]
