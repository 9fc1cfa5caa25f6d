"""SASRec: causal self-attention over the events, classified from the last real position."""

from __future__ import annotations

import torch
from torch import nn

from ml.data import FeatureSpec
from ml.models.base import SequenceModel, last_real_step
from ml.models.registry import register
from ml.models.transformer import AttentionEncoderLayer


@register("sasrec")
class SASRecClassifier(SequenceModel):
    """SASRec (Kang & McAuley, 2018) with a logistic head instead of next-item scores.

    z_t = Dropout(W_in x_t + P_t) with learned positions P, then ``n_layers``
    x :class:`~ml.models.transformer.AttentionEncoderLayer` (ReLU feed-forward, causal mask)
    and a final LayerNorm:

        A_{ij} = softmax_j(q_i . k_j / sqrt(d_head))  over j <= i, j a real event,
        F_t    = LN(block_N(... block_1(z)))_t,
        logit  = w . F_T + b,

    where T is the journey's last real position, so the representation is the
    output there (it has attended to every event). Query i always sees key i,
    so no attention row is ever fully masked, even in an all-padding journey
    (which would otherwise give NaN); such a journey has no last position and
    its representation is 0 (logit = the head's bias). Because attention is
    causal and batches are right-padded, padding never reaches F_t at a real
    position t.

    has_attention is False: the contract wants index 0 to be a summary token
    every event feeds, and under causal attention a token at index 0 sees
    nothing but itself; the summary here is the last real position, which
    moves with the journey's length.

    Defaults: embedding_dim 16, d_model 64, n_layers 2, n_heads 2,
    ff_dim d_model, dropout 0.2, max_len from the spec (positions).
    """

    def __init__(
        self,
        spec: FeatureSpec,
        embedding_dim: int = 16,
        d_model: int = 64,
        n_layers: int = 2,
        n_heads: int = 2,
        ff_dim: int | None = None,
        dropout: float = 0.2,
        max_len: int | None = None,
    ):
        super().__init__(spec, embedding_dim)
        self.max_len = max_len or spec.max_len
        self.n_heads = n_heads
        self.input_projection = nn.Linear(self.input_dim, d_model)
        self.positions = nn.Embedding(self.max_len, d_model)
        self.embedding_dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            AttentionEncoderLayer(d_model, n_heads, ff_dim or d_model, dropout, activation=nn.ReLU)
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 1)

    def attention_blocked(self, mask: torch.Tensor) -> torch.Tensor:
        """[B * n_heads, L, L] true where query i may not attend key j: future keys and padded keys.

        The diagonal is always open, so every softmax row has at least one key.
        """
        length = mask.shape[1]
        steps = torch.arange(length, device=mask.device)
        future = steps[None, :] > steps[:, None]
        blocked = future[None] | ~mask[:, None, :]
        blocked = blocked & ~torch.eye(length, dtype=torch.bool, device=mask.device)
        return blocked.repeat_interleave(self.n_heads, dim=0)

    def sequence_outputs(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """F [B, L, d_model]: the output at every position (each sees only itself and earlier events)."""
        length = x.shape[1]
        if length > self.max_len:
            raise ValueError(f"journeys of {length} events exceed max_len={self.max_len}")
        z = self.input_projection(x) + self.positions(torch.arange(length, device=x.device))
        z = self.embedding_dropout(z)
        blocked = self.attention_blocked(mask)
        for layer in self.layers:
            z = layer(z, attn_mask=blocked)
        return self.norm(z)

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return last_real_step(self.sequence_outputs(x, mask), mask)
