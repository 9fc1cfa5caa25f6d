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


def score_predictions(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """``auc`` (NaN when one class only), ``log_loss`` and ``n_journeys``."""
    labels = np.asarray(labels, dtype=np.float64)
    n = len(labels)
    if n == 0:
        return {"auc": float("nan"), "log_loss": float("nan"), "n_journeys": 0}
    auc = roc_auc_score(labels, probabilities) if 0 < labels.sum() < n else float("nan")
    return {
        "auc": float(auc),
        "log_loss": float(log_loss(labels, np.clip(probabilities, 1e-7, 1 - 1e-7), labels=[0.0, 1.0])),
        "n_journeys": int(n),
    }


def evaluate(model: SequenceModel, data: SequenceData, split: str) -> dict:
    """``{"auc", "log_loss", "n_journeys"}`` of ``model`` on ``split`` (sklearn metrics)."""
    journeys = data.indices(split)
    return score_predictions(data.label[journeys], predict_proba(model, data, split))


def model_metrics(model: SequenceModel, data: SequenceData, splits=SPLITS) -> pd.DataFrame:
    """model_metrics rows: split, auc, log_loss, n_journeys (caller adds run_id, model, variant)."""
    rows = [{"split": split, **evaluate(model, data, split)} for split in splits]
    return pd.DataFrame(rows, columns=["split", "auc", "log_loss", "n_journeys"])
