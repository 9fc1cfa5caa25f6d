"""The contract every sequence model follows, and the shared input embedding."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from ml.data import FeatureSpec, JourneyBatch


class FeatureEmbedding(nn.Module):
    """Per-event input vector: categorical embeddings concatenated with numerics.

    x_t = [E_1[c_t1], ..., E_F[c_tF], n_t]  with  D = F * embedding_dim + G.

    Index 0 (padding) embeds to zeros, and padded numerics are zero, so padded
    steps are exactly zero vectors.
    """

    def __init__(self, spec: FeatureSpec, embedding_dim: int = 16):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(size, embedding_dim, padding_idx=0) for size in spec.vocab_sizes)
        self.output_dim = len(spec.vocab_sizes) * embedding_dim + spec.n_numeric

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        parts = [table(categorical[..., i]) for i, table in enumerate(self.tables)]
        return torch.cat([*parts, numeric], dim=-1)


def last_real_step(outputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """outputs[b, t_b] [B, H] at each journey's last real event t_b (right padding), zeros for a
    journey with no events: what a model that reads only backwards knows after the whole journey."""
    lengths = mask.sum(dim=1)
    last = outputs[torch.arange(outputs.shape[0], device=outputs.device), (lengths - 1).clamp(min=0)]
    return torch.where((lengths > 0).unsqueeze(-1), last, torch.zeros_like(last))


class SequenceModel(nn.Module, ABC):
    """Abstract sequence classifier: journey -> conversion logit.

    Subclasses implement :meth:`encode` (per-event input vectors and mask ->
    representation [B, H]) and set ``self.head`` (representation -> logit).
    The split between :meth:`embed` and :meth:`forward_from_embeddings` lets
    gradient attribution differentiate the logit with respect to the input
    vectors x [B, L, D].

    Every model must return finite logits for an all-padding journey (mask all
    false): a counterfactual may remove every event.

    Models with attention set ``has_attention = True`` and register their
    attention modules with :meth:`capture_attention`; after each forward
    :attr:`attention_weights` holds one [B, H, L+1, L+1] tensor per layer, with
    index 0 the CLS token.
    """

    name: str = "base"
    has_attention: bool = False
    #: False for a family whose :meth:`pretrain` fits everything (e.g. a head by L-BFGS): the
    #: trainer then scores it once instead of running the supervised epochs.
    trains_by_epochs: bool = True
    #: False for a family built to estimate effects rather than to score journeys: never promoted.
    scores_journeys: bool = True

    def __init__(self, spec: FeatureSpec, embedding_dim: int = 16):
        super().__init__()
        self.spec = spec
        self.embedding = FeatureEmbedding(spec, embedding_dim)
        self._attention_modules: list[str] = []

    @property
    def input_dim(self) -> int:
        return self.embedding.output_dim

    def embed(self, batch: JourneyBatch) -> torch.Tensor:
        """Per-event input vectors x [B, L, D] (the input attribution differentiates)."""
        return self.embedding(batch.categorical, batch.numeric)

    @abstractmethod
    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Representation [B, H] of journeys from input vectors x [B, L, D] and mask [B, L]."""

    def forward_from_embeddings(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits [B] from input vectors x [B, L, D]."""
        return self.head(self.encode(x, mask)).squeeze(-1)

    def forward(self, batch: JourneyBatch) -> torch.Tensor:
        """Logits [B]; p(convert) = sigmoid(logit)."""
        return self.forward_from_embeddings(self.embed(batch), batch.mask)

    def representation(self, batch: JourneyBatch) -> torch.Tensor:
        """The vector [B, H] the classification head reads."""
        return self.encode(self.embed(batch), batch.mask)

    # -- training hooks: the one trainer calls these; most families keep the defaults --

    def pretrain(self, data, train_indices, config, log) -> None:
        """Self-supervised fitting before the conversion objective (e.g. masked-event
        prediction, skip-gram). Default: nothing. ``data`` is the SequenceData,
        ``config`` the TrainConfig, ``log`` a callable taking one string."""

    def training_outputs(self, batch: JourneyBatch, epoch: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits [B], extra loss summed over the batch or None) for one training step.

        The trainer minimises BCE(logits) + extra. A family with a second objective
        (a VAE's reconstruction and annealed KL terms) returns it here, computed in the
        same forward pass. ``epoch`` starts at 1.
        """
        return self(batch), None

    def capture_attention(self, module_name: str) -> None:
        """Record the per-head weights of submodule ``module_name`` at every forward.

        The hook is a module-level function that keeps the weights on the
        attention module itself, so the model still pickles and deep-copies.
        """
        module = self.get_submodule(module_name)
        module.register_forward_hook(_record_attention_weights)
        self._attention_modules.append(module_name)

    @property
    def attention_weights(self) -> list[torch.Tensor] | None:
        """Per-layer attention weights [B, H, L+1, L+1] of the last forward, or None."""
        if not self.has_attention:
            return None
        weights = [getattr(self.get_submodule(n), "last_attention_weights", None) for n in self._attention_modules]
        return None if any(w is None for w in weights) else weights


def _record_attention_weights(module: nn.Module, _inputs, output) -> None:
    # output = (attn_output, weights [B, H, L, L]) when the module is called with
    # need_weights=True, average_attn_weights=False.
    module.last_attention_weights = None if output[1] is None else output[1].detach()
