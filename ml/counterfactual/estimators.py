"""One entry point for a model's counterfactual effects, read the way the model allows.

Every family answers "remove and re-predict" (:func:`ml.counterfactual.counterfactual_effects`,
:func:`ml.counterfactual.sponsorship_effects`); a latent-intent model answers by abduction instead
(:func:`ml.counterfactual.abduction.abduction_effects`), holding the intent its full journey
reveals. The ``estimator`` column says which.
"""

from __future__ import annotations

import pandas as pd

from ml.counterfactual.abduction import abduction_effects
from ml.counterfactual.effects import counterfactual_effects
from ml.counterfactual.experiment import sponsorship_effects
from ml.counterfactual.interventions import default_interventions, swap_interventions
from ml.data import SequenceData
from ml.estimands import ABDUCTION_ESTIMATOR, REPREDICT_ESTIMATOR
from ml.models import SequenceModel
from ml.models.latent_intent import LatentIntentClassifier


def holds_intent(model: SequenceModel) -> bool:
    """Whether the model separates intent from the events' effects (abduction applies)."""
    return isinstance(model, LatentIntentClassifier)


def model_effects(model: SequenceModel, data: SequenceData, sequences: pd.DataFrame, split: str = "test",
                  n_boot: int = 200, seed: int = 0, swaps: bool = True, n_refits: int = 0) -> pd.DataFrame:
    """``remove_ad_events`` and ``remove_event:<event>`` for every event (and with ``swaps`` the ad
    swaps), over the ``split`` journeys each touches: COUNTERFACTUAL_COLUMNS plus ``estimator``.
    ``n_refits`` > 0 widens a latent-intent model's intervals by its own fitting uncertainty
    (:func:`ml.counterfactual.abduction.abduction_effects`); the other families' intervals
    resample journeys with the model held fixed."""
    interventions = default_interventions(sequences)
    if holds_intent(model):
        in_split = sequences if split is None else sequences[sequences["split"].astype(str) == split]
        wanted = interventions + (swap_interventions(in_split) if swaps else [])
        frame = abduction_effects(model, data, wanted, split=split, n_boot=n_boot, seed=seed, n_refits=n_refits)
        return frame.assign(estimator=ABDUCTION_ESTIMATOR)
    frame = counterfactual_effects(model, data, sequences, interventions, split=split, n_boot=n_boot, seed=seed)
    if swaps:
        frame = pd.concat([frame, sponsorship_effects(model, data, sequences, split=split, n_boot=n_boot, seed=seed)],
                          ignore_index=True)
    return frame.assign(estimator=REPREDICT_ESTIMATOR)
