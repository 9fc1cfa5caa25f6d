"""GRU4Rec: a GRU over the event sequence, classified from the state after the last real event."""

from __future__ import annotations

import torch
from torch import nn

from ml.data import FeatureSpec
from ml.models.base import SequenceModel, last_real_step
from ml.models.registry import register


@register("gru4rec")
class GRU4RecClassifier(SequenceModel):
    """GRU4Rec (Hidasi et al., 2016) with a logistic head instead of next-item ranking.

    GRU4Rec feeds each event's item and action tokens to a GRU; here the
    per-event input x_t already concatenates the event, store, discovery
    feature and numeric embeddings, so it enters the GRU directly:

        r_t = sigma(W_r x_t + U_r h_{t-1} + b_r)
        u_t = sigma(W_u x_t + U_u h_{t-1} + b_u)
        n_t = tanh(W_n x_t + r_t * (U_n h_{t-1} + b_hn) + b_in)
        h_t = (1 - u_t) * n_t + u_t * h_{t-1}
        logit = w . Dropout(h_T) + b

    (torch's GRU gate convention). h_T is the top layer's state after the
    journey's last real event, gathered by length: the GRU only looks back and
    batches are right-padded, so the padding after a journey never reaches h_T.
    A journey with no events keeps h_0 = 0, so its logit is the head's bias.
    ``representation`` returns h_T.

    Defaults: embedding_dim 16, hidden_size 64, num_layers 1, dropout 0.1
    (on the inputs, between stacked layers and before the head).
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
        self.input_dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(
            self.input_dim,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_size, 1))

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.gru(self.input_dropout(x))
        return last_real_step(outputs, mask)
