"""BERT4Rec: a bidirectional encoder pre-trained on masked events, fine-tuned from a CLS token."""

from __future__ import annotations

import time

import torch
from torch import nn
from torch.nn import functional as F

from ml.data import FeatureSpec, JourneyBatch, journey_loader
from ml.models.base import SequenceModel
from ml.models.registry import register
from ml.models.transformer import AttentionEncoderLayer


@register("bert4rec")
class BERT4RecClassifier(SequenceModel):
    """BERT4Rec (Sun et al., 2019): masked-event pre-training, then a conversion head on CLS.

    Encoder. z_0 = CLS, z_t = W_in x_t (or the learned [MASK] vector m where
    event t is masked) for t = 1..L, plus learned positions P_t, then Dropout
    and ``n_layers`` x :class:`~ml.models.transformer.AttentionEncoderLayer`
    (bidirectional: every token attends to every real event and CLS; padded
    events are masked as keys, CLS never is, so an all-padding journey stays
    finite). The layers are pre-norm (the paper's are post-norm), which trains
    without warm-up at the trainer's learning rates.

    Pre-training (:meth:`pretrain`, before the conversion objective): each real
    event is masked with probability ``mask_probability`` (the whole input
    vector is replaced by m, so store and numerics cannot give the event away)
    and the encoder predicts its ``event`` vocabulary index,

        p(e | journey with event t masked) = softmax(W_o GELU(W_h h_t + b_h) + b_o),
        L_mlm = -mean over masked t of log p(e_t | ...),

    for ``pretrain_epochs`` passes over the train journeys with Adam
    (``pretrain_lr``, default the TrainConfig's lr).

    Fine-tuning: logit = w . LN(h_CLS) + b through the normal trainer loop;
    ``representation`` returns LN(h_CLS). Attention weights [B, H, L+1, L+1]
    are captured on ``layers[i].attention`` (index 0 = CLS).

    Defaults: embedding_dim 16, d_model 64, n_layers 2, n_heads 2,
    ff_dim 4 * d_model (GELU, as in BERT), dropout 0.1, mask_probability 0.2,
    pretrain_epochs 3, pretrain_lr None, max_len from the spec (positions).
    """

    has_attention = True

    def __init__(
        self,
        spec: FeatureSpec,
        embedding_dim: int = 16,
        d_model: int = 64,
        n_layers: int = 2,
        n_heads: int = 2,
        ff_dim: int | None = None,
        dropout: float = 0.1,
        mask_probability: float = 0.2,
        pretrain_epochs: int = 3,
        pretrain_lr: float | None = None,
        max_len: int | None = None,
    ):
        super().__init__(spec, embedding_dim)
        if not 0.0 < mask_probability < 1.0:
            raise ValueError("mask_probability must be in (0, 1)")
        self.max_len = max_len or spec.max_len
        self.mask_probability = mask_probability
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        # The masked-event target; the first categorical feature if no column is called "event".
        names = spec.categorical_names
        self.event_feature = names.index("event") if "event" in names else 0
        self.input_projection = nn.Linear(self.input_dim, d_model)
        self.cls = nn.Parameter(torch.randn(1, 1, d_model) * 0.02)
        self.mask_token = nn.Parameter(torch.randn(d_model) * 0.02)
        self.positions = nn.Embedding(self.max_len + 1, d_model)
        self.embedding_dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            AttentionEncoderLayer(d_model, n_heads, ff_dim or 4 * d_model, dropout) for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 1)
        self.masked_event_head = nn.Sequential(
            nn.Linear(d_model, d_model),
            nn.GELU(),
            nn.LayerNorm(d_model),
            nn.Linear(d_model, spec.vocab_sizes[self.event_feature]),
        )
        for i in range(n_layers):
            self.capture_attention(f"layers.{i}.attention")

    def hidden_states(self, x: torch.Tensor, mask: torch.Tensor, masked: torch.Tensor | None = None) -> torch.Tensor:
        """LN(h) [B, L+1, d_model] (index 0 = CLS); events where ``masked`` [B, L] is true enter as [MASK]."""
        batch, length, _ = x.shape
        if length > self.max_len:
            raise ValueError(f"journeys of {length} events exceed max_len={self.max_len}")
        events = self.input_projection(x)
        if masked is not None:
            events = torch.where(masked.unsqueeze(-1), self.mask_token.to(events.dtype), events)
        z = torch.cat([self.cls.expand(batch, 1, -1).to(events.dtype), events], dim=1)
        z = self.embedding_dropout(z + self.positions(torch.arange(length + 1, device=x.device)))
        padding = torch.cat([torch.zeros_like(mask[:, :1]), ~mask], dim=1)
        for layer in self.layers:
            z = layer(z, padding)
        return self.norm(z)

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.hidden_states(x, mask)[:, 0]

    def draw_masked_events(self, mask: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """[B, L] true on the real events to mask, each with probability ``mask_probability``."""
        draws = torch.rand(mask.shape, generator=generator)
        return (draws.to(mask.device) < self.mask_probability) & mask

    def masked_event_loss(self, batch: JourneyBatch, masked: torch.Tensor) -> torch.Tensor:
        """Summed cross-entropy of the true ``event`` index at the ``masked`` [B, L] positions."""
        states = self.hidden_states(self.embed(batch), batch.mask, masked)[:, 1:]
        logits = self.masked_event_head(states[masked])
        targets = batch.categorical[..., self.event_feature][masked]
        return F.cross_entropy(logits.float(), targets, reduction="sum")

    def pretrain(self, data, train_indices, config, log) -> None:
        """Masked-event pre-training on ``train_indices``: ``pretrain_epochs`` passes, one log line each.

        Uses the TrainConfig's batch size, bucketing, weight decay, gradient
        clipping and seed (batch order and masks repeat with the seed).
        """
        if self.pretrain_epochs <= 0 or len(train_indices) == 0:
            return
        device = next(self.parameters()).device
        # Seed + 1: the masked-event batches differ from the conversion epochs' order.
        loader = journey_loader(
            data, train_indices, config.batch_size, shuffle=True, bucketing=config.bucketing, seed=config.seed + 1
        )
        generator = torch.Generator().manual_seed(config.seed)
        optimizer = torch.optim.Adam(
            self.parameters(), lr=self.pretrain_lr or config.lr, weight_decay=config.weight_decay
        )
        self.train()
        for epoch in range(1, self.pretrain_epochs + 1):
            started = time.perf_counter()
            total_loss, n_masked = 0.0, 0
            for batch in loader:
                batch = batch.to(device)
                masked = self.draw_masked_events(batch.mask, generator)
                count = int(masked.sum())
                if count == 0:
                    continue
                loss = self.masked_event_loss(batch, masked)
                optimizer.zero_grad(set_to_none=True)
                (loss / count).backward()
                if config.grad_clip:
                    nn.utils.clip_grad_norm_(self.parameters(), config.grad_clip)
                optimizer.step()
                total_loss += float(loss.detach())
                n_masked += count
            seconds = time.perf_counter() - started
            log(
                f"pretrain epoch {epoch}/{self.pretrain_epochs}: masked-event loss "
                f"{total_loss / max(n_masked, 1):.4f} over {n_masked:,} masked events in {seconds:.1f}s"
            )
