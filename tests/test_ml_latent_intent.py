"""The latent-intent family (issue 18): abduction holds intent, the grounding meets the experiment,
the falsification check fires on a control away from zero, and on the simulator the model beats
remove-and-re-predict where confounding breaks it."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from ml.counterfactual import (
    experiment_effect,
    ground_intent_strength,
    model_effects,
    negative_control_departures,
)
from ml.counterfactual.abduction import sponsored_journeys
from ml.data import build_sequence_data, collate_journeys
from ml.estimands import ABDUCTION_ESTIMATOR, REPREDICT_ESTIMATOR
from ml.evaluation import kendall, truth_scorecard
from ml.evaluation.truth import effect_error_share, sign_accuracy
from ml.models import build_model
from ml.models.latent_intent import pooled_posterior, user_codes
from ml.simulate import NEGATIVE_CONTROL_EVENTS, SimulationConfig, simulate_sessions
from ml.training import TrainConfig, train_model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def simulated():
    """A default simulation (3,000 users, the experiment on), its journeys and tensors."""
    sim = simulate_sessions(SimulationConfig(n_users=3000, seed=3, null_session_id_share=0.0))
    sequences, labels = sim.browsing_journeys(split_seed=3)
    return sim, sequences, build_sequence_data(sequences, labels)


def trained(family: str, data):
    """``family`` trained as the graph trains it (the default TrainConfig), seeded."""
    torch.manual_seed(0)
    model = build_model(family, data.spec)
    train_model(model, data, TrainConfig(log_every=0), log=lambda _message: None)
    return model


@pytest.fixture(scope="module")
def latent(simulated):
    return trained("latent_intent", simulated[2])


@pytest.fixture(scope="module")
def counts(simulated):
    return trained("logreg_counts", simulated[2])


def test_the_head_reads_the_events_only_through_additive_terms(simulated, latent):
    """With intent held, the logit moves by exactly the removed events' terms (positions re-ranked)."""
    _, _, data = simulated
    journeys = data.indices("test")[:50]
    events = latent.journey_events(data, journeys)
    kept = np.ones(len(events.rows), dtype=bool)
    kept[::3] = False
    with torch.no_grad():
        h_kept = latent.event_terms(events.event_embedding, events.sponsored, events.positions(kept)) * torch.as_tensor(kept)
        event_logit = torch.zeros(len(journeys)).index_add_(0, torch.as_tensor(events.journey_of_event), h_kept)
        expected = torch.sigmoid(latent.conversion_logit(events.mu, events.logvar, event_logit))
        held = latent.held_intent_probabilities(events, kept)
        own = replace(events, **dict(zip(("mu", "logvar"), latent.own_posteriors(data, journeys))))
        factual = latent.held_intent_probabilities(own)
        predicted = torch.sigmoid(latent(collate_journeys(data, journeys)))
    assert torch.allclose(held, expected, atol=1e-6)
    # Nothing removed, intent from the journey alone: abduction reproduces the model's prediction.
    assert torch.allclose(factual, predicted, atol=1e-5)


def test_a_users_other_journeys_sharpen_intent_and_a_lone_journey_keeps_its_own(simulated, latent):
    _, _, data = simulated
    assert 0.3 < float(latent.user_intent_share) < 0.95  # the simulator's user share is 0.64
    everyone = np.arange(data.n_journeys)
    own_mu, own_logvar = latent.own_posteriors(data, everyone)
    events = latent.journey_events(data, everyone)
    users = user_codes(data)
    alone = np.bincount(users)[users] == 1
    assert torch.allclose(events.mu[alone], own_mu[alone], atol=1e-5)
    assert (events.logvar[~alone] < own_logvar[~alone]).all()  # more evidence: a narrower posterior
    assert pooled_posterior(own_mu, own_logvar, users, 0.0)[0] is own_mu


def test_an_all_padding_journey_gets_a_finite_logit(simulated, latent):
    _, _, data = simulated
    batch = collate_journeys(data, data.indices("test")[:4])
    batch.mask[:] = False
    batch.categorical[:] = 0
    batch.numeric[:] = 0
    assert torch.isfinite(latent(batch)).all()


def test_the_latent_carries_what_a_markov_chain_of_events_cannot(simulated, latent):
    """Held-out event likelihood (the ELBO, a lower bound) beats a first-order Markov chain fitted
    on the train journeys with the same begin and end token: intent explains the events."""
    _, _, data = simulated
    test, train = data.indices("test"), data.indices("train")
    markov = latent.markov_event_log_likelihood(data, train, test)
    elbo = latent.mean_event_log_likelihood(data, test)
    assert elbo.mean() > markov.mean() + 0.3, (elbo.mean(), markov.mean())


def test_abduction_beats_remove_and_repredict_where_intent_confounds(simulated, latent, counts):
    """Stripping a journey of its card views makes it read as high-intent: remove-and-re-predict
    gives them a clearly negative effect (true ~0); holding intent puts them near zero, and the
    ranking of the event effects comes out closer to the truth."""
    sim, sequences, data = simulated
    held = model_effects(latent, data, sequences, swaps=False).assign(model="latent_intent", variant="no_funnel")
    reread = model_effects(counts, data, sequences, swaps=False).assign(model="logreg_counts", variant="no_funnel")
    assert set(held["estimator"]) == {ABDUCTION_ESTIMATOR} and set(reread["estimator"]) == {REPREDICT_ESTIMATOR}
    card_view = "remove_event:m_card_view"  # true effect +0.0005
    reread_view = reread.set_index("intervention").loc[card_view, "effect"]
    held_view = held.set_index("intervention").loc[card_view, "effect"]
    assert reread_view < -0.05
    assert abs(held_view) < abs(reread_view) / 2, (held_view, reread_view)
    card = truth_scorecard(None, pd.concat([held, reread]), None, sim.truth)
    spearman = card[card["metric"] == "spearman_counterfactual_vs_truth"].set_index("model")["value"]
    assert spearman["latent_intent"] >= 0.8
    assert spearman["latent_intent"] > spearman["logreg_counts"]


def _swap(model, data) -> float:
    exposed = model.journey_events(data, sponsored_journeys(data))
    with torch.no_grad():
        return float((model.held_intent_probabilities(exposed)
                      - model.held_intent_probabilities(exposed, sponsored=torch.zeros_like(exposed.sponsored))).mean())


def test_grounding_follows_a_precise_experiment_and_not_a_vague_one(simulated, latent):
    """A precise holdout pulls the model's ad (swap) effect with intent held onto the experiment's
    estimate; a vague one leaves the strength of intent near where the journeys put it. The
    encoder is untouched either way."""
    sim, _, data = simulated
    estimate = float(experiment_effect(sim.experiment_journeys(), n_boot=200).iloc[0]["effect"])
    precise, grounding = ground_intent_strength(latent, data, estimate, (estimate - 0.001, estimate + 0.001))
    curve = grounding.curve["model_swap_effect"]
    assert curve.iloc[0] > curve.iloc[-1]  # more of conversion explained by intent: less by the ads
    if not grounding.at_boundary:
        assert _swap(precise, data) == pytest.approx(estimate, abs=0.004)
    assert grounding.intent_strength_low <= grounding.intent_strength <= grounding.intent_strength_high
    assert torch.equal(precise.to_mu.weight, latent.to_mu.weight)
    _, vague = ground_intent_strength(latent, data, estimate, (estimate - 1.0, estimate + 1.0))
    assert vague.intent_strength == pytest.approx(vague.intent_strength_fitted, abs=0.3)
    assert vague.intent_strength_high - vague.intent_strength_low > grounding.intent_strength_high - grounding.intent_strength_low


def test_the_falsification_check_fails_on_a_control_away_from_zero():
    effects = pd.DataFrame({
        "intervention": ["remove_event:tab_a", "remove_event:tab_b", "remove_event:tab_c", "remove_event:tab_d",
                         "remove_event:click"],
        "effect": [0.004, 0.03, -0.02, 0.02, 0.09],
        "ci_low": [-0.002, 0.02, -0.03, 0.005, 0.08],
        "ci_high": [0.010, 0.04, -0.012, 0.04, 0.10],
    })
    failed = negative_control_departures(effects, ["tab_a", "tab_b", "tab_c", "tab_d"])
    # tab_a is near zero; tab_d's interval reaches within a point of zero; click is no control.
    assert list(failed["intervention"]) == ["remove_event:tab_b", "remove_event:tab_c"]
    assert negative_control_departures(effects, ["tab_a", "tab_d"]).empty
    assert set(NEGATIVE_CONTROL_EVENTS) == {"m_select_tab_explore", "m_select_tab_account"}


def test_refit_intervals_carry_the_fits_uncertainty(simulated, latent):
    """Resampling the journeys with the model fixed gives a rare event a narrow interval; refitting
    the head on resampled train journeys widens it to hold the fit's own noise."""
    _, sequences, data = simulated
    fixed = model_effects(latent, data, sequences, swaps=False).set_index("intervention")
    refit = model_effects(latent, data, sequences, swaps=False, n_refits=8).set_index("intervention")
    pd.testing.assert_series_equal(fixed["effect"], refit["effect"])
    width = lambda frame: frame["ci_high"] - frame["ci_low"]  # noqa: E731
    assert (width(refit) > width(fixed)).all()


def test_size_and_sign_metrics():
    truth = np.array([0.08, 0.04, -0.02, 0.0])
    assert effect_error_share(truth, truth) == 0.0
    assert effect_error_share(truth * 2, truth) == pytest.approx(1.0)
    assert sign_accuracy(np.array([0.1, 0.01, 0.01, -0.1]), truth[:3].tolist() + [-0.01]) == pytest.approx(0.75)
    assert kendall([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert kendall([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(kendall([1, 1, 1], [1, 2, 3]))
