"""Per-event attribution methods, one class each (captum's shape).

Each ``attribute(batch)`` returns raw per-event scores [B, L] (zero on
padding); :func:`normalize_scores` turns them into shares that sum to 1 per
journey.
"""

from __future__ import annotations

import contextlib

import torch

from ml.data import JourneyBatch
from ml.models import SequenceModel


@contextlib.contextmanager
def _eval_mode(model: SequenceModel):
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _no_cudnn():
    # cuDNN's RNN backward refuses eval mode; CPU runs are unaffected.
    return torch.backends.cudnn.flags(enabled=False)


class GradientXInput:
    """Gradient x input on the per-event input vectors.

    s_t = sum_d x_{t,d} * d f(x) / d x_{t,d},

    with f the conversion logit and x_t = ``model.embed(batch)[:, t]``. For a
    model linear in x (f = sum_t v . x_t + b) this is exactly v . x_t, each
    event's additive share of the logit.
    """

    name = "grad_x_input"

    def __init__(self, model: SequenceModel):
        self.model = model

    def attribute(self, batch: JourneyBatch) -> torch.Tensor:
        with _eval_mode(self.model), _no_cudnn(), torch.enable_grad():
            x = self.model.embed(batch).detach().requires_grad_(True)
            logits = self.model.forward_from_embeddings(x, batch.mask)
            # Journeys are independent, so the gradient of the sum is each journey's own.
            (grad,) = torch.autograd.grad(logits.sum(), x)
        return ((grad * x).sum(dim=-1) * batch.mask).detach()


class IntegratedGradients:
    """Integrated gradients from the all-zero input (the padding vector).

    s_t = sum_d x_{t,d} * (1/m) sum_{k=1..m} d f(a_k x) / d x_{t,d},  a_k = (k - 1/2)/m

    (midpoint Riemann sum, ``n_steps`` = m). Completeness: sum_t s_t ~ f(x) - f(0).
    """

    name = "integrated_gradients"

    def __init__(self, model: SequenceModel, n_steps: int = 16):
        self.model = model
        self.n_steps = n_steps

    def attribute(self, batch: JourneyBatch) -> torch.Tensor:
        with _eval_mode(self.model), _no_cudnn(), torch.enable_grad():
            x = self.model.embed(batch).detach()
            total = torch.zeros_like(x)
            for k in range(self.n_steps):
                alpha = (k + 0.5) / self.n_steps
                point = (alpha * x).requires_grad_(True)
                (grad,) = torch.autograd.grad(self.model.forward_from_embeddings(point, batch.mask).sum(), point)
                total += grad
        return ((total / self.n_steps * x).sum(dim=-1) * batch.mask).detach()


class AttentionAttribution:
    """Attention paid by the CLS token to each event, averaged over layers and heads.

    s_t = (1 / (N H)) sum_{l, h} A^{(l,h)}[CLS, t]

    from the weights the model's hooks captured (index 0 = CLS, events 1..L).
    Only for models with ``has_attention``.
    """

    name = "attention"

    def __init__(self, model: SequenceModel):
        if not getattr(model, "has_attention", False):
            raise TypeError(f"{type(model).__name__} exposes no attention weights")
        self.model = model

    @torch.no_grad()
    def attribute(self, batch: JourneyBatch) -> torch.Tensor:
        with _eval_mode(self.model):
            self.model(batch)
        weights = torch.stack(self.model.attention_weights)  # [N, B, H, L+1, L+1]
        return weights.mean(dim=(0, 2))[:, 0, 1:] * batch.mask


#: method name -> class; the names of design.md's ``method`` column.
ATTRIBUTION_METHODS: dict[str, type] = {
    GradientXInput.name: GradientXInput,
    IntegratedGradients.name: IntegratedGradients,
    AttentionAttribution.name: AttentionAttribution,
}


def methods_for(model: SequenceModel) -> list[str]:
    """Names of the attribution methods that apply to ``model``."""
    names = [GradientXInput.name, IntegratedGradients.name]
    if getattr(model, "has_attention", False):
        names.append(AttentionAttribution.name)
    return names


def normalize_scores(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """score_t = |s_t| / sum_t |s_t| over real events; all-zero journeys get 1 / n_events."""
    magnitude = scores.abs() * mask
    total = magnitude.sum(dim=1, keepdim=True)
    uniform = mask / mask.sum(dim=1, keepdim=True).clamp(min=1)
    return torch.where(total > 0, magnitude / total.clamp(min=torch.finfo(scores.dtype).tiny), uniform)
