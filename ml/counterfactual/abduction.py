r"""Abduction counterfactuals: infer intent from the full journey, hold it, remove the events.

For a latent-intent model (:mod:`ml.models.latent_intent`), logit(u, journey) = c + gamma . u +
sum_t h_t. "Remove and re-predict" would infer u again from the edited journey; abduction infers
q(u | full journey) once and keeps it (Pearl's abduction, action, prediction):

    effect_j = E_{u ~ q(u | journey_j)} [ sigmoid(c + gamma . u + sum_{t in j} h_t)
                                         - sigmoid(c + gamma . u + sum_{t kept} h'_t) ],

h'_t the kept events' terms at their re-ranked positions (1..k, as the mart would rank the
shortened journey), both expectations by the model's Gauss-Hermite quadrature. The estimand per
intervention is the mean over the journeys of ``split`` holding at least one removed event, with
a bootstrap interval (:func:`ml.counterfactual.effects.effect_row`), in the columns of
``counterfactual_effects``. ``swap_ad_events`` keeps every event in place and sets
is_sponsored false (the estimand the randomized holdout identifies).

Grounding (:func:`ground_intent_strength`). Observationally, how much of conversion intent
explains (gamma) and how much the events do (h) is pinned only by the model's functional form.
The randomized holdout identifies one number, the effect of showing the ads as ads. For a grid
of scales lambda, the head (c, h) is refitted on the train journeys with gamma = lambda *
gamma_hat held, and the refitted model's swap effect on the exposed journeys (those holding a
sponsored event) is computed with intent held; lambda* is where that curve meets the
experiment's estimate (linear interpolation), its interval where the curve meets the ends of
the experiment's interval. The head refitted at lambda* carries the correction to every event.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from ml.counterfactual.effects import COUNTERFACTUAL_COLUMNS, effect_row
from ml.counterfactual.interventions import intervention_mask
from ml.data import SequenceData
from ml.data.sequences import NUMERIC_FEATURES
from ml.estimands import REMOVE_AD_EVENTS, REMOVE_EVENT_PREFIX, SWAP_AD_EVENT_PREFIX, SWAP_AD_EVENTS
from ml.models.latent_intent import LatentIntentClassifier

_SPONSORED = NUMERIC_FEATURES.index("is_sponsored")


@torch.no_grad()
def abduction_effects(model: LatentIntentClassifier, data: SequenceData, interventions, split: str | None = "test",
                      n_boot: int = 200, seed: int = 0, batch_size: int = 1024) -> pd.DataFrame:
    """Per intervention (``remove_ad_events``, ``remove_event:<event>``, ``swap_ad_events`` and
    ``swap_ad_events:<event>``, which sets is_sponsored false on that event's ads only):
    the mean over the ``split`` journeys it touches of p(journey) - p(edited journey), intent
    held at what the full journey says; COUNTERFACTUAL_COLUMNS with a bootstrap 95% interval."""
    events = model.journey_events(data, data.indices(split), batch_size)
    p_factual = model.held_intent_probabilities(events).numpy()
    frame = data.events.iloc[events.rows]
    sponsored = intervention_mask(frame, REMOVE_AD_EVENTS)
    rows = []
    for number, intervention in enumerate(interventions):
        if intervention.startswith(SWAP_AD_EVENTS):  # swap_ad_events, or swap_ad_events:<event>
            touched = sponsored.copy()
            if intervention.startswith(SWAP_AD_EVENT_PREFIX):
                touched &= (frame["event"] == intervention[len(SWAP_AD_EVENT_PREFIX):]).to_numpy(dtype=bool)
            flags = events.sponsored * torch.as_tensor(~touched, dtype=events.sponsored.dtype)
            p_cf = model.held_intent_probabilities(events, sponsored=flags).numpy()
        else:
            touched = intervention_mask(frame, intervention)
            p_cf = model.held_intent_probabilities(events, kept=~touched).numpy()
        affected = np.bincount(events.journey_of_event[touched], minlength=len(events.journeys)) > 0
        rows.append(effect_row(intervention, p_factual[affected], p_cf[affected] if affected.any() else None,
                               n_boot, seed + number))
    return pd.DataFrame(rows, columns=COUNTERFACTUAL_COLUMNS)


# ------------------------------------------------------------------------------- grounding
@dataclass
class Grounding:
    """What the experiment says about the strength of intent (see the module docstring)."""

    intent_strength: float  # gamma* (the first latent dimension's); NaN without an experiment
    intent_strength_low: float
    intent_strength_high: float
    intent_strength_fitted: float  # gamma_hat, from the journeys alone (maximum likelihood)
    experiment_effect: float
    model_swap_effect_fitted: float  # the swap effect at gamma_hat
    curve: pd.DataFrame  # intent_strength, model_swap_effect, train_log_loss
    at_boundary: bool  # gamma* (or an end of its interval) fell outside the strengths tried


def _swap_effect(model: LatentIntentClassifier, exposed) -> float:
    with torch.no_grad():
        factual = model.held_intent_probabilities(exposed)
        swapped = model.held_intent_probabilities(exposed, sponsored=torch.zeros_like(exposed.sponsored))
    return float((factual - swapped).mean())


def sponsored_journeys(data: SequenceData) -> np.ndarray:
    """Indices of the journeys holding at least one sponsored event (the exposed ones)."""
    journey_of_row = np.repeat(np.arange(data.n_journeys), data.lengths)
    return np.flatnonzero(np.bincount(journey_of_row, weights=data.numeric[:, _SPONSORED], minlength=data.n_journeys) > 0)


def ground_intent_strength(model: LatentIntentClassifier, data: SequenceData, experiment_effect: float,
                           experiment_ci: tuple[float, float], strengths=None, batch_size: int = 1024,
                           ) -> tuple[LatentIntentClassifier, Grounding]:
    """A copy of ``model`` whose head is refitted at the intent strength gamma* that makes its ad
    (swap) effect on the exposed journeys match the randomized holdout's ``experiment_effect``,
    and the :class:`Grounding` (gamma*'s interval from the experiment's ``experiment_ci``)."""
    gamma_hat = model.intent_strength.detach().clone()
    sign = float(torch.sign(gamma_hat[0])) or 1.0
    strengths = np.asarray(strengths if strengths is not None else np.linspace(0.0, 3.0, 25), dtype=np.float64)
    train = model.journey_events(data, data.indices("train"), batch_size)
    exposed = model.journey_events(data, sponsored_journeys(data), batch_size)
    labels = torch.as_tensor(data.label[train.journeys])

    def refit(strength: float) -> LatentIntentClassifier:
        fitted = copy.deepcopy(model)
        gamma = gamma_hat.clone()
        gamma[0] = sign * strength
        fitted.fit_head(data, train, intent_strength=gamma)
        return fitted

    rows = []
    for strength in strengths:
        fitted = refit(strength)
        with torch.no_grad():
            p = fitted.held_intent_probabilities(train).clamp(1e-7, 1 - 1e-7)
            loss = float(F.binary_cross_entropy(p, labels))
        rows.append({"intent_strength": strength, "model_swap_effect": _swap_effect(fitted, exposed),
                     "train_log_loss": loss})
    curve = pd.DataFrame(rows)
    effect = curve["model_swap_effect"].to_numpy()

    def crossing(target: float) -> tuple[float, bool]:
        order = np.argsort(effect)
        return float(np.interp(target, effect[order], strengths[order])), not effect.min() <= target <= effect.max()

    strength, outside = crossing(experiment_effect)
    ends = sorted(crossing(end)[0] for end in experiment_ci)
    boundary = outside or any(crossing(end)[1] for end in experiment_ci)
    return refit(strength), Grounding(
        intent_strength=strength, intent_strength_low=ends[0], intent_strength_high=ends[1],
        intent_strength_fitted=float(gamma_hat[0].abs()), experiment_effect=float(experiment_effect),
        model_swap_effect_fitted=_swap_effect(model, exposed), curve=curve, at_boundary=bool(boundary),
    )


# ------------------------------------------------------------------------------- falsification
#: An event known to do nothing (a negative control) whose estimated effect lies further than this
#: from zero, with an interval that excludes zero, says the model is misspecified: one probability point.
NEGATIVE_CONTROL_TOLERANCE = 0.01


def negative_control_departures(effects: pd.DataFrame, controls, tolerance: float = NEGATIVE_CONTROL_TOLERANCE
                                ) -> pd.DataFrame:
    """The ``remove_event:<control>`` rows of ``effects`` whose effect lies beyond ``tolerance``
    from zero with a 95% interval that excludes zero: the falsification check's failures."""
    wanted = [f"{REMOVE_EVENT_PREFIX}{event}" for event in controls]
    rows = effects[effects["intervention"].isin(wanted)]
    beyond = rows["effect"].abs() > tolerance
    excludes_zero = (rows["ci_low"] > 0) | (rows["ci_high"] < 0)
    return rows[beyond & excludes_zero]
