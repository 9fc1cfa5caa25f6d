"""The one trainer for every sequence model family, and what a trained model carries."""

from ml.training.config import TrainConfig
from ml.training.trained import TrainedModel, keyed
from ml.training.trainer import TrainResult, train_model

__all__ = ["TrainConfig", "TrainResult", "TrainedModel", "keyed", "train_model"]
