"""A trained model with what it needs to be used again: its vocabularies, its sequence length,
its scores, and where a tracking system recorded it."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ml.data import SequenceData, Vocabulary, build_sequence_data
from ml.models import SequenceModel


def keyed(frame: pd.DataFrame, model: str, variant: str) -> pd.DataFrame:
    """``frame`` with the key columns ``model`` and ``variant`` in front (design.md's output tables)."""
    keys = pd.DataFrame({"model": model, "variant": variant}, index=frame.index)
    return pd.concat([keys, frame], axis=1)


@dataclass
class TrainedModel:
    """One model family trained on one sequence variant.

    ``vocabularies`` and ``max_len`` rebuild exactly its inputs from any journeys in the marts'
    long format (:meth:`sequence_data`). ``metrics``: split, auc, log_loss, ece, n_journeys;
    ``history``: one row per epoch. ``tracking_run_id`` and ``tracking_model_uri`` say where the
    caller recorded the training run and the model (e.g. an MLflow run and ``models:/...``).
    """

    model_name: str
    variant: str
    model: SequenceModel
    vocabularies: dict[str, Vocabulary]
    max_len: int
    metrics: pd.DataFrame
    history: pd.DataFrame
    train_seconds: float
    tracking_run_id: str | None = None
    tracking_model_uri: str | None = None

    def sequence_data(self, sequences: pd.DataFrame, labels: pd.DataFrame) -> SequenceData:
        """Journeys as this model reads them: its vocabularies, its ``max_len``."""
        return build_sequence_data(sequences, labels, max_len=self.max_len, vocabularies=self.vocabularies)

    def keyed(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with this model's ``model`` and ``variant`` key columns in front."""
        return keyed(frame, self.model_name, self.variant)
