"""ml.counterfactual: the design.md estimand on a model whose answer is known."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from ml.counterfactual import (
    COUNTERFACTUAL_COLUMNS,
    all_event_interventions,
    bootstrap_mean_interval,
    counterfactual_effects,
    default_interventions,
    intervention_mask,
    remove_events,
)
from ml.data import build_sequence_data, planted_signal_frames
from ml.models import SequenceModel, build_model
from ml.training import TrainConfig, train_model

torch.set_num_threads(1)  # tiny models: a second thread only adds contention
W_CLICK, W_SPONSORED, BIAS = 1.5, -0.8, -0.5


class CountingModel(SequenceModel):
    """logit = W_CLICK * #clicks + W_SPONSORED * #sponsored + BIAS (a journey with no events: BIAS)."""

    def __init__(self, data):
        super().__init__(data.spec, embedding_dim=1)
        with torch.no_grad():
            for table in self.embedding.tables:
                table.weight.zero_()
            click = data.vocabularies["event"].encode(["m_card_click"])[0]
            self.embedding.tables[0].weight[click, 0] = 1.0
        self.head = nn.Linear(2, 1)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[W_CLICK, W_SPONSORED]]))
            self.head.bias.fill_(BIAS)

    def encode(self, x, mask):
        # dim 0: the event embedding (1 on clicks); last dim: the is_sponsored numeric.
        return (x[..., [0, -1]] * mask.unsqueeze(-1)).sum(dim=1)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.fixture(scope="module")
def frames():
    return planted_signal_frames(n_journeys=600, seed=4)


@pytest.fixture(scope="module")
def data(frames):
    return build_sequence_data(*frames)


def expected_effect(sequences, labels, drop):
    """The estimand by hand: counts per test journey before and after removal."""
    test = sequences[sequences["journey_id"].isin(labels.loc[labels["split"] == "test", "journey_id"])]
    drop = drop.loc[test.index]
    counts = pd.DataFrame(
        {
            "click": test["event"] == "m_card_click",
            "sponsored": test["is_sponsored"],
            "drop_click": (test["event"] == "m_card_click") & drop,
            "drop_sponsored": test["is_sponsored"] & drop,
            "dropped": drop,
        }
    ).groupby(test["journey_id"]).sum()
    counts = counts[counts["dropped"] > 0]
    factual = sigmoid(W_CLICK * counts["click"] + W_SPONSORED * counts["sponsored"] + BIAS)
    counterfactual = sigmoid(
        W_CLICK * (counts["click"] - counts["drop_click"])
        + W_SPONSORED * (counts["sponsored"] - counts["drop_sponsored"])
        + BIAS
    )
    return len(counts), factual.mean(), counterfactual.mean(), (factual - counterfactual).mean()


def test_effects_match_the_known_answer(frames, data):
    sequences, labels = frames
    model = CountingModel(data).eval()
    interventions = ["remove_ad_events", "remove_event:m_card_click", "remove_event:m_card_view"]
    table = counterfactual_effects(model, data, sequences, interventions, n_boot=100, seed=0)
    assert list(table.columns) == COUNTERFACTUAL_COLUMNS
    drops = {
        "remove_ad_events": sequences["is_sponsored"],
        "remove_event:m_card_click": sequences["event"] == "m_card_click",
        # Sponsored events are card views here, so this removes the ads too.
        "remove_event:m_card_view": sequences["event"] == "m_card_view",
    }
    for row in table.itertuples():
        n, p_f, p_cf, effect = expected_effect(sequences, labels, drops[row.intervention])
        assert row.n_journeys == n > 0
        assert row.p_factual == pytest.approx(p_f, abs=1e-5)
        assert row.p_counterfactual == pytest.approx(p_cf, abs=1e-5)
        assert row.effect == pytest.approx(effect, abs=1e-5)
        assert row.ci_low <= row.effect <= row.ci_high
    effects = table.set_index("intervention")["effect"]
    assert effects["remove_event:m_card_click"] > 0 > effects["remove_ad_events"]


def test_journeys_that_lose_every_event_are_predicted_from_none(frames, data):
    sequences, labels = frames
    test_ids = labels.loc[labels["split"] == "test", "journey_id"]
    only_views = sequences[sequences["journey_id"].isin(test_ids)].groupby("journey_id")["event"].agg(
        lambda e: (e == "m_card_view").all())
    assert only_views.any()  # the case under test occurs
    model = CountingModel(data).eval()
    table = counterfactual_effects(model, data, sequences, ["remove_event:m_card_view"], n_boot=20)
    assert np.isfinite(table[["p_counterfactual", "effect", "ci_low", "ci_high"]].to_numpy()).all()


def test_no_affected_journeys_gives_an_empty_row(frames, data):
    model = CountingModel(data).eval()
    table = counterfactual_effects(model, data, frames[0], ["remove_event:never_logged"], n_boot=10)
    assert table.loc[0, "n_journeys"] == 0 and np.isnan(table.loc[0, "effect"])


def test_interventions_and_masks(frames):
    sequences, _ = frames
    events = sorted(sequences["event"].unique())
    assert all_event_interventions(sequences) == [f"remove_event:{e}" for e in events]
    assert default_interventions(sequences)[0] == "remove_ad_events"
    assert np.array_equal(intervention_mask(sequences, "remove_ad_events"), sequences["is_sponsored"].to_numpy())
    with pytest.raises(ValueError, match="unknown intervention"):
        intervention_mask(sequences, "remove_everything")


def test_remove_events_reranks_positions_and_gaps():
    sequences = pd.DataFrame(
        {
            "journey_id": ["a", "a", "a", "b"],
            "position": [1, 2, 3, 1],
            "event_at": pd.Timestamp("2024-01-01") + pd.to_timedelta([0, 10, 25, 0], unit="s"),
            "event": ["x", "y", "z", "y"],
            "seconds_since_prev": [0.0, 10.0, 15.0, 0.0],
        }
    )
    kept = remove_events(sequences, sequences["event"] == "y")
    assert kept["journey_id"].tolist() == ["a", "a"]
    assert kept["position"].tolist() == [1, 2]
    assert kept["seconds_since_prev"].tolist() == [0.0, 25.0]


def test_bootstrap_interval():
    values = np.random.default_rng(0).normal(0.1, 1.0, size=400)
    low, high = bootstrap_mean_interval(values, n_boot=300, seed=1)
    assert low < values.mean() < high
    assert high - low == pytest.approx(2 * 1.96 / np.sqrt(400), rel=0.25)
    assert bootstrap_mean_interval(np.full(10, 0.3), n_boot=50) == pytest.approx((0.3, 0.3))
    assert bootstrap_mean_interval(values, seed=1) == bootstrap_mean_interval(values, seed=1)


def test_a_trained_model_finds_the_planted_event():
    sequences, labels = planted_signal_frames(n_journeys=1500, seed=0)
    data = build_sequence_data(sequences, labels, max_len=16)
    torch.manual_seed(0)
    model = build_model("lstm", data.spec, hidden_size=16, embedding_dim=4)
    config = TrainConfig(epochs=10, patience=3, batch_size=32, lr=1e-2, num_threads=1, log_every=0)
    train_model(model, data, config, log=lambda _: None)
    table = counterfactual_effects(model, data, sequences, default_interventions(sequences), n_boot=100)
    effects = table.set_index("intervention")
    # Planted truth: sigmoid(-1.5 + 2.5) - sigmoid(-1.5) = 0.55 for journeys holding a click.
    assert effects["effect"].idxmax() == "remove_event:m_card_click"
    assert effects.loc["remove_event:m_card_click", "ci_low"] > 0.2


@pytest.mark.parametrize("family", ["gru4rec", "transformer_cls"])
def test_edits_predicted_in_one_pass_equal_one_call_per_edit(frames, data, family):
    """predict_edited stacks every edit's journeys (the same journey edited two ways included) into
    one pass, in chunks under max_rows: each journey's probability is the one a call of its own
    edit gives, for a recurrent and an attention model, whose padding differs between the two."""
    from ml.counterfactual import predict_edited
    from ml.evaluation import predict_proba

    torch.manual_seed(0)
    model = build_model(family, data.spec)
    sequences, _ = frames
    test = sequences[sequences["journey_id"].isin(data.journey_id[data.indices("test")])]
    edits = []
    for intervention in default_interventions(test)[:4]:
        drop = intervention_mask(test, intervention)
        affected = np.sort(pd.unique(test["journey_id"].to_numpy()[drop]).astype(object))
        touched = test["journey_id"].isin(affected).to_numpy()
        edits.append((remove_events(test[touched], drop[touched]), affected))
    assert len({len(e) for e, _ in edits}) > 1 and all(len(a) for _, a in edits)
    one_call_each = [predict_proba(model, data.with_sequences(e, journey_ids=a), None) for e, a in edits]
    for max_rows in (10**9, max(len(e) for e, _ in edits)):  # one pass; one edit per pass
        stacked = predict_edited(model, data, edits, max_rows=max_rows)
        for alone, together in zip(one_call_each, stacked):
            np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)
