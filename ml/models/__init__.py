"""Sequence model families behind one contract and one registry.

Importing this package registers every family (``lstm``, ``transformer_cls``).
"""

from ml.models.base import FeatureEmbedding, SequenceModel
from ml.models.lstm import LSTMClassifier
from ml.models.registry import MODEL_REGISTRY, available_models, build_model, register
from ml.models.transformer import AttentionEncoderLayer, TransformerCLSClassifier
from ml.models.item2vec import ActionItemEmbedding, Item2VecClassifier
from ml.models.logreg_counts import EventCountLogisticRegression, EventOneHot
from ml.models.gru4rec import GRU4RecClassifier
from ml.models.sasrec import SASRecClassifier
from ml.models.bert4rec import BERT4RecClassifier
from ml.models.bilstm_transformer import BiLSTMTransformerClassifier
from ml.models.seq_vae import SequenceVAEClassifier
from ml.models.latent_intent import LatentIntentClassifier
from ml.models.srgnn import SRGNNClassifier

__all__ = [
    "ActionItemEmbedding",
    "EventCountLogisticRegression",
    "EventOneHot",
    "Item2VecClassifier",
    "GRU4RecClassifier",
    "SASRecClassifier",
    "BERT4RecClassifier",
    "BiLSTMTransformerClassifier",
    "SequenceVAEClassifier",
    "LatentIntentClassifier",
    "SRGNNClassifier",
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
