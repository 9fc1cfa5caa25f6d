"""ml.training and ml.evaluation: each family learns a planted signal, seeded."""

import logging

import numpy as np
import pytest
import torch

from ml.data import build_sequence_data, collate_journeys, planted_signal_frames
from ml.evaluation import evaluate, model_metrics, predict_proba
from ml.models import MODEL_REGISTRY, available_models, build_model
from ml.training import TrainConfig, train_model

TINY = {
    "lstm": {"hidden_size": 16, "embedding_dim": 4},
    "transformer_cls": {"d_model": 16, "n_heads": 2, "n_layers": 1, "embedding_dim": 4},
}
FAST = TrainConfig(epochs=10, patience=3, batch_size=32, lr=1e-2, seed=0, num_threads=1, log_every=10)


@pytest.fixture(scope="module")
def data():
    return build_sequence_data(*planted_signal_frames(n_journeys=1500, seed=0), max_len=16)


def tiny_model(name, data, seed=0):
    torch.manual_seed(seed)
    return build_model(name, data.spec, **TINY.get(name, {}))


@pytest.mark.parametrize("name", [n for n in available_models() if MODEL_REGISTRY[n].trains_by_epochs])
def test_each_model_learns_the_planted_signal(name, data):
    lines = []
    result = train_model(tiny_model(name, data), data, FAST, log=lines.append)
    metrics = model_metrics(result.model, data).set_index("split")
    # Journeys holding the planted click convert far more often; the oracle AUC is ~0.77.
    assert metrics.loc["test", "auc"] > 0.7
    assert metrics["n_journeys"].sum() == data.n_journeys
    # The best epoch's weights are back in the model.
    assert metrics.loc["validation", "auc"] == pytest.approx(result.best_val_auc)
    assert 1 <= result.best_epoch <= len(result.history) <= FAST.epochs
    epoch = result.history[0]
    assert set(epoch) >= {"epoch", "train_loss", "val_auc", "seconds", "events_per_second"}
    assert epoch["n_events"] == int(data.lengths[data.indices("train")].sum())
    assert any("events/s" in line and line.startswith("epoch 1/") for line in lines)
    assert any("batch 10/" in line for line in lines)


@pytest.mark.parametrize("name", [n for n in available_models() if not MODEL_REGISTRY[n].trains_by_epochs])
def test_a_family_fitted_in_pretraining_learns_the_planted_signal_without_epochs(name, data):
    lines = []
    result = train_model(tiny_model(name, data), data, FAST, log=lines.append)
    metrics = model_metrics(result.model, data).set_index("split")
    assert metrics.loc["test", "auc"] > 0.7
    assert metrics.loc["validation", "auc"] == pytest.approx(result.best_val_auc)
    # No supervised epochs: one history row, epoch 0, and the log says so.
    assert [h["epoch"] for h in result.history] == [0] and result.best_epoch == 0
    assert any("no supervised epochs" in line for line in lines)
    assert not any(line.startswith("epoch 1/") for line in lines)


def test_seeded_runs_repeat(data):
    config = TrainConfig(epochs=2, batch_size=64, seed=7, num_threads=1, log_every=0)
    runs = [train_model(tiny_model("lstm", data), data, config, log=lambda _: None) for _ in range(2)]
    assert [h["train_loss"] for h in runs[0].history] == [h["train_loss"] for h in runs[1].history]
    assert np.array_equal(predict_proba(runs[0].model, data, "test"), predict_proba(runs[1].model, data, "test"))


def test_early_stopping_waits_patience_epochs(data):
    # lr = 0: the validation AUC never improves after epoch 1.
    config = TrainConfig(epochs=8, patience=2, lr=0.0, batch_size=128, num_threads=1, log_every=0)
    result = train_model(tiny_model("lstm", data), data, config, log=logging.getLogger("test"))
    assert result.best_epoch == 1
    assert len(result.history) == 3
    assert result.train_seconds > 0


def test_evaluate_and_predictions_align_with_the_split(data):
    model = tiny_model("lstm", data).eval()
    p = predict_proba(model, data, "validation")
    assert p.shape == (len(data.indices("validation")),) and ((p > 0) & (p < 1)).all()
    # Order follows data.indices(split), whatever order the batches ran in.
    journeys = data.indices("validation")
    for journey, expected in zip(journeys[:5], p[:5]):
        with torch.no_grad():
            alone = torch.sigmoid(model(collate_journeys(data, [journey])))
        assert float(alone) == pytest.approx(expected, abs=1e-5)
    metrics = evaluate(model, data, "test")
    assert set(metrics) == {"auc", "log_loss", "n_journeys", "ece"}
    assert metrics["n_journeys"] == len(data.indices("test"))
    frame = model_metrics(model, data)
    assert list(frame.columns) == ["split", "auc", "log_loss", "n_journeys", "ece"]
    assert frame["split"].tolist() == ["train", "validation", "test"]
