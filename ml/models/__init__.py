"""Sequence model families behind one contract and one registry.

Importing this package registers every family (``lstm``, ``transformer_cls``).
"""

from ml.models.base import FeatureEmbedding, SequenceModel
from ml.models.lstm import LSTMClassifier
from ml.models.registry import MODEL_REGISTRY, available_models, build_model, register
from ml.models.transformer import AttentionEncoderLayer, TransformerCLSClassifier

__all__ = [
    "MODEL_REGISTRY",
    "AttentionEncoderLayer",
    "FeatureEmbedding",
    "LSTMClassifier",
    "SequenceModel",
    "TransformerCLSClassifier",
    "available_models",
    "build_model",
    "register",
]
