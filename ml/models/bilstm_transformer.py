"""Bidirectional LSTM, then a Transformer encoder, then attention pooling by a learned query."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ml.data import FeatureSpec
from ml.models.base import SequenceModel
from ml.models.registry import register


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """P [length, d_model]: P[t, 2i] = sin(t / 10000^(2i/d)), P[t, 2i+1] = cos(t / 10000^(2i/d))."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)[:, : d_model // 2]
    return table


def attendable_keys(mask: torch.Tensor) -> torch.Tensor:
    """Key padding mask [B, L] (true = ignore) that never hides every key of a row.

    A journey with no events would otherwise give softmax over nothing (NaN, and NaN
    gradients even when the output is discarded), so its first slot stays visible;
    callers zero that journey's pooled vector afterwards.
    """
    empty = ~mask.any(dim=1, keepdim=True)
    first_slot = torch.zeros_like(mask)
    first_slot[:, 0] = True
    return ~(mask | (empty & first_slot))


@register("bilstm_transformer")
class BiLSTMTransformerClassifier(SequenceModel):
    """BiLSTM -> Transformer encoder -> multi-head attention pooling.

    z_t = Dropout(W_in x_t)
    u_t = z_t + [LSTM_fwd(z)_t ; LSTM_bwd(z)_t]   ``lstm_layers`` stacked, d_model/2 per direction
    h^0_t = u_t + P_t                             P sinusoidal (:func:`sinusoidal_positions`)
    h^N = LN(``n_layers`` pre-norm TransformerEncoderLayers over h^0), padded events masked as keys
    r = MHA(q, h^N, h^N)                          q a learned query, padded events masked
    logit = w . r + b

    The LSTM runs over packed sequences, so the backward direction starts at each
    journey's own last event, never at padding. r, the pooled vector, is the
    representation. A journey with no events gets r = 0, so its logit is the head's bias.

    Two choices keep training stable at high learning rates (Adam at 1e-2, where
    the plain stack settles on journey length and never finds the events):
    the residual z_t around the BiLSTM, because the LSTM's outputs start small and
    alike across events, so the Transformer would otherwise see little but positions;
    and no LayerNorm after the pooling, because rescaling the pooled vector shrinks
    its journey-to-journey variation under the common offset the pooling's
    projections pick up early in training.

    ``has_attention`` is False: the encoder attends event-to-event with no summary
    token, so its weights are [B, H, L, L], not the [B, H, L+1, L+1] CLS contract of
    :class:`~ml.models.base.SequenceModel`; the pooling query is the summary, but it
    is one query row, not a layer of the contract.

    Defaults: embedding_dim 16, d_model 64 (32 per LSTM direction), lstm_layers 2,
    n_layers 3, n_heads 4 (encoder), pool_heads 4, ff_dim 2 * d_model, dropout 0.1.
    """

    def __init__(
        self,
        spec: FeatureSpec,
        embedding_dim: int = 16,
        d_model: int = 64,
        lstm_layers: int = 2,
        n_layers: int = 3,
        n_heads: int = 4,
        pool_heads: int = 4,
        ff_dim: int | None = None,
        dropout: float = 0.1,
    ):
        super().__init__(spec, embedding_dim)
        if d_model % 2:
            raise ValueError("d_model must be even: it is split between the two LSTM directions")
        self.d_model = d_model
        # Linear, not ReLU: z_t also feeds the residual stream, where a sign carries content.
        self.input_projection = nn.Sequential(nn.Linear(self.input_dim, d_model), nn.Dropout(dropout))
        self.lstm = nn.LSTM(
            d_model,
            d_model // 2,
            num_layers=lstm_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if lstm_layers > 1 else 0.0,
        )
        self.register_buffer("positions", sinusoidal_positions(spec.max_len, d_model), persistent=False)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, ff_dim or 2 * d_model, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        # Pre-norm layers leave the last output un-normalized: the encoder's final norm closes it.
        self.encoder = nn.TransformerEncoder(
            layer, n_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
        )
        self.pool_query = nn.Parameter(torch.randn(1, 1, d_model) * 0.02)
        self.pooling = nn.MultiheadAttention(d_model, pool_heads, dropout=dropout, batch_first=True)
        self.head = nn.Linear(d_model, 1)

    def _position_table(self, length: int) -> torch.Tensor:
        if length <= self.positions.shape[0]:
            return self.positions[:length]
        # Sinusoids extend to any length; longer inputs than the spec are computed on the fly.
        return sinusoidal_positions(length, self.d_model).to(self.positions.device)

    def _bilstm(self, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # Empty journeys run one (padding) step so packing accepts them; pooling drops it.
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = pack_padded_sequence(z, lengths, batch_first=True, enforce_sorted=False)
        outputs, _ = self.lstm(packed)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=z.shape[1])
        return outputs

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        projected = self.input_projection(x)
        hidden = projected + self._bilstm(projected, mask)
        hidden = hidden + self._position_table(length).to(hidden.dtype)
        ignore = attendable_keys(mask)
        hidden = self.encoder(hidden, src_key_padding_mask=ignore)
        pooled, _ = self.pooling(self.pool_query.expand(batch, 1, -1), hidden, hidden, key_padding_mask=ignore)
        pooled = pooled.squeeze(1)
        return torch.where(mask.any(dim=1, keepdim=True), pooled, torch.zeros_like(pooled))
