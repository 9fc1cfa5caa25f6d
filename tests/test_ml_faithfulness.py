"""Attribution quality: integrated gradients' completeness, and deletion / insertion curves."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from ml.attribution import (
    CURVE_COLUMNS,
    DEFAULT_IG_STEPS,
    SUMMARY_COLUMNS,
    IntegratedGradients,
    completeness_summary,
    event_attribution,
    faithfulness,
    integrated_gradients_attribution,
    integrated_gradients_completeness,
)
from ml.baselines import rule_attribution
from ml.data import build_sequence_data, collate_journeys, planted_signal_frames
from ml.models import SequenceModel, build_model
from ml.training import TrainConfig, train_model

torch.set_num_threads(1)  # tiny models: a second thread only adds contention
W_CLICK, BIAS = 2.0, -1.0


class ClickModel(SequenceModel):
    """logit = W_CLICK * #m_card_click + w_search * #core_search + BIAS (w_search = 0 by default)."""

    def __init__(self, data, w_search: float = 0.0):
        super().__init__(data.spec, embedding_dim=1)
        with torch.no_grad():
            for table in self.embedding.tables:
                table.weight.zero_()
            click, search = data.vocabularies["event"].encode(["m_card_click", "core_search"])
            self.embedding.tables[0].weight[click, 0] = 1.0
            self.embedding.tables[0].weight[search, 0] = w_search / W_CLICK
        self.head = nn.Linear(1, 1)
        with torch.no_grad():
            self.head.weight.fill_(W_CLICK)
            self.head.bias.fill_(BIAS)

    def encode(self, x, mask):
        return (x[..., :1] * mask.unsqueeze(-1)).sum(dim=1)


@pytest.fixture(scope="module")
def frames():
    return planted_signal_frames(n_journeys=300, seed=2)


@pytest.fixture(scope="module")
def data(frames):
    return build_sequence_data(*frames, max_len=16)


def test_integrated_gradients_completeness_on_a_trained_model(frames, data):
    torch.manual_seed(0)
    model = build_model("lstm", data.spec, hidden_size=16, embedding_dim=4)
    config = TrainConfig(epochs=2, batch_size=64, lr=1e-2, num_threads=1, log_every=0)
    train_model(model, data, config, log=lambda _: None)
    events, table = integrated_gradients_attribution(model, data, split="test")
    summary = completeness_summary(table)
    # One pass gives both: the event rows are integrated gradients' own.
    pd.testing.assert_frame_equal(events, event_attribution(model, data, "integrated_gradients"))
    assert set(table["journey_id"]) == set(events["journey_id"])
    assert summary["n_journeys"] == len(table) == (data.lengths[data.indices("test")] > 0).sum()
    # At the default step count the attributions miss under 5% of f(x) - f(x').
    assert summary["total_relative_error"] < 0.05
    assert summary["median_relative_error"] < 0.05
    # Fewer steps, larger error (midpoint rule: ~1/m^2).
    coarse = completeness_summary(integrated_gradients_completeness(model, data, n_steps=2))
    assert coarse["total_relative_error"] > summary["total_relative_error"]
    assert DEFAULT_IG_STEPS == IntegratedGradients(model).n_steps


def test_integrated_gradients_baselines(data):
    torch.manual_seed(0)
    model = build_model("transformer_cls", data.spec, d_model=8, n_heads=2, n_layers=1, embedding_dim=2).eval()
    batch = collate_journeys(data, np.arange(5))
    zeros = IntegratedGradients(model, n_steps=8).attribute(batch)
    # FeatureEmbedding embeds padding to zeros: the padding baseline is the zero baseline.
    assert torch.allclose(IntegratedGradients(model, n_steps=8, baseline="padding").attribute(batch), zeros)
    scores, logit, baseline_logit = IntegratedGradients(model, n_steps=64, baseline="padding").completeness(batch)
    with torch.no_grad():
        padding = model.forward_from_embeddings(torch.zeros_like(model.embed(batch)), batch.mask)
    assert torch.allclose(baseline_logit, padding, atol=1e-5)
    assert torch.allclose(scores.sum(dim=1), logit - baseline_logit, atol=1e-2)
    # captum's layer integrated gradients takes baselines in the input space: no tensor in x's space.
    with pytest.raises(ValueError, match="input space"):
        IntegratedGradients(model, baseline=torch.full((model.input_dim,), 0.3))
    with pytest.raises(ValueError):
        IntegratedGradients(model, baseline="mean")


def test_deletion_and_insertion_curves(frames, data):
    """Only clicks move the logit, so deleting the gradient's top events (the clicks) drops p at once."""
    sequences, _ = frames
    model = ClickModel(data).eval()
    attributions = pd.concat(
        [
            event_attribution(model, data, "grad_x_input"),
            rule_attribution(*frames, "last_touch", max_len=data.max_len),
        ]
    )
    curves, summary = faithfulness(model, data, sequences, attributions, seed=0)
    assert list(curves.columns) == CURVE_COLUMNS and list(summary.columns) == SUMMARY_COLUMNS
    assert set(curves["method"]) == {"grad_x_input", "last_touch", "random"}
    assert len(curves) == 3 * 2 * 11

    def curve(method, kind):
        return curves[(curves["method"] == method) & (curves["curve"] == kind)].set_index("step")["mean_p"]

    # Step 0 of deletion is the factual journey; step 0 of insertion the empty one (logit = BIAS).
    test = data.indices("test")
    test = test[data.lengths[test] > 0]
    clicks = pd.Series(data.categorical[:, 0] == data.vocabularies["event"].encode(["m_card_click"])[0])
    n_clicks = clicks.groupby(np.repeat(np.arange(data.n_journeys), data.lengths)).sum().reindex(test, fill_value=0)
    factual = (1 / (1 + np.exp(-(W_CLICK * n_clicks.to_numpy() + BIAS)))).mean()
    for method in ("grad_x_input", "random"):
        assert curve(method, "deletion")[0.0] == pytest.approx(factual, abs=1e-6)
        assert curve(method, "insertion")[0.0] == pytest.approx(1 / (1 + np.exp(-BIAS)), abs=1e-6)
        assert curve(method, "deletion")[1.0] == pytest.approx(1 / (1 + np.exp(-BIAS)), abs=1e-6)
    rows = summary.set_index("method")
    grad = rows.loc["grad_x_input"]
    assert grad["deletion_auc"] < grad["random_deletion_auc"] - 0.02
    assert grad["insertion_auc"] > grad["random_insertion_auc"] + 0.02
    # The gradient's deletion curve is at its floor after the first 10-30% of events.
    assert (curve("grad_x_input", "deletion") <= curve("random", "deletion") + 1e-9).all()
    assert np.isfinite(rows.loc["last_touch", ["deletion_auc", "insertion_auc"]].to_numpy(dtype=float)).all()


def test_deletion_follows_the_sign_of_the_attribution(frames, data):
    """Searches pull the logit down harder than clicks push it up: deleting by |score| would delete
    searches first and raise p; the signed order deletes the clicks first and beats random order."""
    sequences, _ = frames
    model = ClickModel(data, w_search=-3.0).eval()
    events = event_attribution(model, data, "grad_x_input")
    assert (events.loc[events["event"] == "core_search", "signed_score"] < 0).all()
    assert np.allclose(events["score"], events["signed_score"].abs())
    fractions = (0.0, 0.25, 0.5, 0.75, 1.0)
    _, signed = faithfulness(model, data, sequences, events, fractions, seed=0)
    _, by_magnitude = faithfulness(model, data, sequences, events.drop(columns="signed_score"), fractions, seed=0)
    signed, by_magnitude = signed.iloc[0], by_magnitude.iloc[0]
    assert signed["deletion_auc"] < signed["random_deletion_auc"] - 0.02
    assert signed["insertion_auc"] > signed["random_insertion_auc"] + 0.02
    assert by_magnitude["deletion_auc"] > by_magnitude["random_deletion_auc"]
