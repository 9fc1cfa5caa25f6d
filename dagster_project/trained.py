"""What a training asset hands downstream (pickled by Dagster's IO manager)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from ml.data import SequenceData, Vocabulary, build_sequence_data


@dataclass
class TrainedJourneyModel:
    """A trained model with the vocabularies it was trained on, so downstream assets rebuild
    exactly its inputs from the marts."""

    model_name: str
    variant: str
    model: torch.nn.Module
    vocabularies: dict[str, Vocabulary]
    max_len: int
    metrics: pd.DataFrame  # split, auc, log_loss, n_journeys
    history: pd.DataFrame  # one row per epoch
    mlflow_run_id: str
    mlflow_model_uri: str  # models:/<id>: MLflow 3 logs models apart from the run's artifacts
    train_seconds: float

    def sequence_data(self, sequences: pd.DataFrame, labels: pd.DataFrame) -> SequenceData:
        return build_sequence_data(sequences, labels, max_len=self.max_len, vocabularies=self.vocabularies)
