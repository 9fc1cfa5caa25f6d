"""LSTM over the event sequence, classified from the state after the last real event."""

from __future__ import annotations

import torch
from torch import nn

from ml.data import FeatureSpec
from ml.models.base import SequenceModel, last_real_step
from ml.models.registry import register


@register("lstm")
class LSTMClassifier(SequenceModel):
    """z_t = ReLU(W_in x_t),  h_t = LSTM(z_t, h_{t-1}),  logit = w . h_T + b.

    h_T is the state after the journey's last real event (gathered by length,
    valid because batches are right-padded). A journey with no events keeps
    the initial state h_0 = 0, so its logit is the head's bias.

    Defaults: embedding_dim 16, hidden_size 64, num_layers 1, dropout 0.1.
    """

    def __init__(
        self,
        spec: FeatureSpec,
        embedding_dim: int = 16,
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.1,
    ):
        super().__init__(spec, embedding_dim)
        self.input_projection = nn.Sequential(nn.Linear(self.input_dim, hidden_size), nn.ReLU(), nn.Dropout(dropout))
        self.lstm = nn.LSTM(
            hidden_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.head = nn.Linear(hidden_size, 1)

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(self.input_projection(x))
        return last_real_step(outputs, mask)
