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
explains (gamma) and how much the events do (h) is pinned only weakly, by the model's functional
form and by the user's other journeys. The randomized holdout identifies one number, the effect of
showing the ads as ads. For a grid of strengths gamma, the head (c, h) is refitted on the train
journeys with gamma held, and the refitted model's swap effect on the exposed journeys (those
holding a sponsored event) is computed with intent held. gamma* maximizes the two sources' joint
log likelihood,

    - N_train * logloss_train(gamma)  -  (swap(gamma) - experiment)^2 / (2 se^2),

se from the experiment's interval: a precise holdout pulls the model's ad effect onto the
experiment's; a vague one (a small holdout) leaves gamma where the journeys put it rather than
chase the noise. gamma*'s interval is the profile-likelihood one (the objective within 1.92 of its
best). The head refitted at gamma* carries the correction to every event.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.interpolate import CubicSpline, PchipInterpolator
from torch.nn import functional as F

from ml.counterfactual.effects import COUNTERFACTUAL_COLUMNS, effect_row
from ml.counterfactual.interventions import intervention_mask
from ml.data import SequenceData
from ml.data.sequences import NUMERIC_FEATURES
from ml.estimands import REMOVE_EVENT_PREFIX, SWAP_AD_EVENTS
from ml.models.latent_intent import LatentIntentClassifier

_SPONSORED = NUMERIC_FEATURES.index("is_sponsored")


def _edits(model: LatentIntentClassifier, events, frame: pd.DataFrame, interventions) -> list[tuple[np.ndarray, dict]]:
    """Per intervention: (the journeys it touches, the keyword arguments of
    held_intent_probabilities that make the edit: the kept events, or the swapped ad flags)."""
    edits = []
    for intervention in interventions:
        touched = intervention_mask(frame, intervention)
        if intervention.startswith(SWAP_AD_EVENTS):  # swap_ad_events, or swap_ad_events:<event>
            edit = {"sponsored": events.sponsored * torch.as_tensor(~touched, dtype=events.sponsored.dtype)}
        else:
            edit = {"kept": ~touched}
        edits.append((np.bincount(events.journey_of_event[touched], minlength=len(events.journeys)) > 0, edit))
    return edits


@torch.no_grad()
def _differences(model: LatentIntentClassifier, events, edits) -> tuple[np.ndarray, list[np.ndarray]]:
    """p(journey) per journey, and per edit p(journey) - p(edited journey), intent held."""
    factual = model.held_intent_probabilities(events).numpy()
    return factual, [factual - model.held_intent_probabilities(events, **edit).numpy() for _, edit in edits]


def abduction_effects(model: LatentIntentClassifier, data: SequenceData, interventions, split: str | None = "test",
                      n_boot: int = 200, seed: int = 0, n_refits: int = 0, batch_size: int = 1024) -> pd.DataFrame:
    """Per intervention (``remove_ad_events``, ``remove_event:<event>``, ``swap_ad_events`` and
    ``swap_ad_events:<event>``, which sets is_sponsored false on that event's ads only):
    the mean over the ``split`` journeys it touches of p(journey) - p(edited journey), intent
    held at what the full journey says; COUNTERFACTUAL_COLUMNS with a 95% interval.

    The interval: with ``n_refits`` 0, a bootstrap over the touched journeys (``n_boot``
    resamples) with the model held fixed, as for the other families; with ``n_refits`` > 0, the
    model's own uncertainty too: each of ``n_refits`` replicates refits the head on a resample of
    the train journeys (the encoder kept) and averages over a resample of the touched journeys,
    and the interval is their 2.5th to 97.5th percentile. The events of a rare type are few, so
    the second is the honest one: the first can exclude zero for a control that does nothing."""
    posteriors = model.intent_posteriors(data, batch_size)
    events = model.journey_events(data, data.indices(split), posteriors=posteriors)
    frame = data.events.iloc[events.rows]
    edits = _edits(model, events, frame, interventions)
    factual, differences = _differences(model, events, edits)
    if n_refits:
        replicates = _refit_replicates(model, data, events, edits, n_refits, seed, posteriors)
    rows = []
    for number, (intervention, (affected, _), diff) in enumerate(zip(interventions, edits, differences)):
        row = effect_row(intervention, factual[affected], factual[affected] - diff[affected] if affected.any() else None,
                         n_boot, seed + number)
        if n_refits and affected.any():
            row["ci_low"], row["ci_high"] = (float(v) for v in np.nanpercentile(replicates[:, number], [2.5, 97.5]))
        rows.append(row)
    return pd.DataFrame(rows, columns=COUNTERFACTUAL_COLUMNS)


def _refit_replicates(model: LatentIntentClassifier, data: SequenceData, events, edits, n_refits: int, seed: int,
                      posteriors: tuple[torch.Tensor, torch.Tensor]) -> np.ndarray:
    """[n_refits, len(edits)]: each edit's mean difference under a head refitted on a resample of
    the train journeys, over a resample of the journeys it touches."""
    rng = np.random.default_rng(seed)
    train = model.journey_events(data, data.indices("train"), posteriors=posteriors)
    replicates = np.full((n_refits, len(edits)), np.nan)
    for replicate in range(n_refits):
        refit = copy.deepcopy(model)
        refit.fit_head(data, train.take(rng.integers(0, len(train.journeys), len(train.journeys))), steps=40)
        _, differences = _differences(refit, events, edits)
        picked = rng.integers(0, len(events.journeys), len(events.journeys))
        for number, ((affected, _), diff) in enumerate(zip(edits, differences)):
            chosen = picked[affected[picked]]
            if len(chosen):
                replicates[replicate, number] = diff[chosen].mean()
    return replicates


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
    """A copy of ``model`` whose head is refitted at the intent strength gamma* that best fits both
    the journeys and the randomized holdout (its ``experiment_effect`` with the 95% interval
    ``experiment_ci``), and the :class:`Grounding` (gamma*'s profile-likelihood interval)."""
    gamma_hat = model.intent_strength.detach().clone()
    sign = float(torch.sign(gamma_hat[0])) or 1.0
    strengths = np.asarray(strengths if strengths is not None else np.linspace(0.0, 3.0, 13), dtype=np.float64)
    posteriors = model.intent_posteriors(data, batch_size)
    train = model.journey_events(data, data.indices("train"), posteriors=posteriors)
    exposed = model.journey_events(data, sponsored_journeys(data), posteriors=posteriors)
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
    # Both data sources' log likelihood of gamma, on a fine grid between the refits: the journeys'
    # (N train journeys x mean log loss) and the experiment's (its estimate ~ N(model swap effect, se^2)).
    # (A cubic spline through the refits' log losses: a straight-line one has its minimum at a refit.)
    fine = np.linspace(strengths[0], strengths[-1], 30 * (len(strengths) - 1) + 1)
    journeys_nll = len(train.journeys) * CubicSpline(strengths, curve["train_log_loss"].to_numpy())(fine)
    se = max((experiment_ci[1] - experiment_ci[0]) / (2 * 1.959964), 1e-9)
    swap = PchipInterpolator(strengths, curve["model_swap_effect"].to_numpy())(fine)
    objective = journeys_nll + 0.5 * ((swap - experiment_effect) / se) ** 2
    curve["journeys_nll"] = len(train.journeys) * curve["train_log_loss"]
    curve["experiment_nll"] = 0.5 * ((curve["model_swap_effect"] - experiment_effect) / se) ** 2
    best = int(np.argmin(objective))
    inside = fine[objective <= objective[best] + 1.920729]  # profile likelihood: chi2(1) 95% / 2
    strength = float(fine[best])
    return refit(strength), Grounding(
        intent_strength=strength, intent_strength_low=float(inside.min()), intent_strength_high=float(inside.max()),
        intent_strength_fitted=float(gamma_hat[0].abs()), experiment_effect=float(experiment_effect),
        model_swap_effect_fitted=_swap_effect(model, exposed), curve=curve,
        at_boundary=bool(inside.min() <= fine[0] or inside.max() >= fine[-1]),
    )


# ------------------------------------------------------------------------------- falsification
#: An event known to do nothing (a negative control) whose whole 95% interval lies further than
#: this from zero says the model is misspecified: one probability point.
NEGATIVE_CONTROL_TOLERANCE = 0.01


def negative_control_departures(effects: pd.DataFrame, controls, tolerance: float = NEGATIVE_CONTROL_TOLERANCE
                                ) -> pd.DataFrame:
    """The ``remove_event:<control>`` rows of ``effects`` whose 95% interval lies wholly beyond
    ``tolerance`` from zero (ci_low > tolerance or ci_high < -tolerance): a control that surely
    moves conversion by more than would matter. The falsification check's failures."""
    wanted = [f"{REMOVE_EVENT_PREFIX}{event}" for event in controls]
    rows = effects[effects["intervention"].isin(wanted)]
    return rows[(rows["ci_low"] > tolerance) | (rows["ci_high"] < -tolerance)]
