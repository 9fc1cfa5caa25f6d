"""Predictions and the model_metrics rows (AUC, log loss) per split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import log_loss, roc_auc_score

from ml.data import SPLITS, SequenceData, journey_loader
from ml.models import SequenceModel


@torch.no_grad()
def predict_logits(
    model: SequenceModel, data: SequenceData, split: str | None = None, batch_size: int = 1024
) -> np.ndarray:
    """Logits of the journeys ``data.indices(split)``, in that order."""
    journeys = data.indices(split)
    out = np.empty(len(journeys), dtype=np.float64)
    if len(journeys) == 0:
        return out
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    # Batches sorted by length (little padding); scattered back to journey order.
    slot = np.full(data.n_journeys, -1, dtype=np.int64)
    slot[journeys] = np.arange(len(journeys))
    try:
        for batch in journey_loader(data, journeys, batch_size=batch_size, shuffle=False):
            out[slot[batch.index.numpy()]] = model(batch.to(device)).double().cpu().numpy()
    finally:
        model.train(was_training)
    return out


def predict_proba(
    model: SequenceModel, data: SequenceData, split: str | None = None, batch_size: int = 1024
) -> np.ndarray:
    """p(convert) = sigmoid(logit) of the journeys ``data.indices(split)``, in that order."""
    return 1.0 / (1.0 + np.exp(-predict_logits(model, data, split, batch_size)))


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, n_bins: int = 10) -> float:
    """ECE = sum_b (n_b / n) |mean(y in b) - mean(p in b)| over equal-width probability bins."""
    labels = np.asarray(labels, dtype=np.float64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if len(labels) == 0:
        return float("nan")
    bins = np.minimum((probabilities * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    label_sums = np.bincount(bins, weights=labels, minlength=n_bins)
    prob_sums = np.bincount(bins, weights=probabilities, minlength=n_bins)
    return float(np.abs(label_sums - prob_sums).sum() / len(labels))


def score_predictions(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """``auc`` (NaN when one class only), ``log_loss``, ``n_journeys`` and ``ece``."""
    labels = np.asarray(labels, dtype=np.float64)
    n = len(labels)
    if n == 0:
        return {"auc": float("nan"), "log_loss": float("nan"), "n_journeys": 0, "ece": float("nan")}
    auc = roc_auc_score(labels, probabilities) if 0 < labels.sum() < n else float("nan")
    return {
        "auc": float(auc),
        "log_loss": float(log_loss(labels, np.clip(probabilities, 1e-7, 1 - 1e-7), labels=[0.0, 1.0])),
        "n_journeys": int(n),
        "ece": expected_calibration_error(labels, probabilities),
    }


def evaluate(model: SequenceModel, data: SequenceData, split: str) -> dict:
    """``{"auc", "log_loss", "n_journeys", "ece"}`` of ``model`` on ``split`` (sklearn metrics)."""
    journeys = data.indices(split)
    return score_predictions(data.label[journeys], predict_proba(model, data, split))


def model_metrics(model: SequenceModel, data: SequenceData, splits=SPLITS) -> pd.DataFrame:
    """model_metrics rows: split, auc, log_loss, n_journeys, ece (caller adds run_id, model, variant)."""
    rows = [{"split": split, **evaluate(model, data, split)} for split in splits]
    return pd.DataFrame(rows, columns=["split", "auc", "log_loss", "n_journeys", "ece"])
