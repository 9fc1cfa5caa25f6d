"""The one trainer for every sequence model family."""

from ml.training.config import TrainConfig
from ml.training.trainer import TrainResult, train_model

__all__ = ["TrainConfig", "TrainResult", "train_model"]
