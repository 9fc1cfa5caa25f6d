"""Per-event attribution methods, one class each (captum's shape).

Each ``attribute(batch)`` returns raw per-event scores [B, L] (zero on
padding); :func:`normalize_scores` turns them into shares that sum to 1 per
journey.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
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


#: Riemann steps of integrated gradients by default (see :class:`IntegratedGradients`).
#: Measured total completeness error at 16 steps on small trained models: 0.3-2%
#: (lstm, gru4rec, sasrec, seq_vae, srgnn, bilstm_transformer, transformer_cls);
#: 32 steps roughly halves it at twice the cost.
DEFAULT_IG_STEPS = 16
IG_BASELINES = ("zeros", "padding")


class IntegratedGradients:
    """Integrated gradients along the straight line from a baseline x' to the input x.

    s_t = sum_d (x - x')_{t,d} * (1/m) sum_{k=1..m} d f(x' + a_k (x - x')) / d x_{t,d},  a_k = (k - 1/2)/m

    (midpoint Riemann sum, ``n_steps`` = m; f the conversion logit, the mask
    kept as the journey's). Completeness: sum_t s_t ~ f(x) - f(x'); the
    midpoint rule's error falls as 1/m^2 (see :meth:`completeness` and
    :func:`~ml.attribution.integrated_gradients_attribution`).

    ``baseline``: ``"zeros"`` (x' = 0), ``"padding"`` (x' = the model's
    embedding of padding tokens with zero numerics: the "no event here" input;
    identical to zeros for :class:`~ml.models.base.FeatureEmbedding`, whose
    padding rows are zero), or a tensor broadcastable to x [B, L, D].
    Cost: ``n_steps`` forward + backward passes per batch.
    """

    name = "integrated_gradients"

    def __init__(self, model: SequenceModel, n_steps: int = DEFAULT_IG_STEPS, baseline="zeros"):
        if n_steps < 1:
            raise ValueError("n_steps must be at least 1")
        if isinstance(baseline, str) and baseline not in IG_BASELINES:
            raise ValueError(f"unknown baseline {baseline!r}; expected one of {IG_BASELINES} or a tensor")
        self.model = model
        self.n_steps = n_steps
        self.baseline = baseline

    def baseline_inputs(self, batch: JourneyBatch, x: torch.Tensor) -> torch.Tensor:
        """x' [B, L, D] for ``batch`` (x its input vectors), zero on padded steps."""
        if isinstance(self.baseline, torch.Tensor):
            reference = self.baseline.to(x.device, x.dtype).expand_as(x)
        elif self.baseline == "padding":
            empty = JourneyBatch(
                torch.zeros_like(batch.categorical), torch.zeros_like(batch.numeric), batch.mask, batch.label, batch.index
            )
            reference = self.model.embed(empty).detach()
        else:
            reference = torch.zeros_like(x)
        return reference * batch.mask.unsqueeze(-1)

    def _integrate(self, batch: JourneyBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.model.embed(batch).detach()
        reference = self.baseline_inputs(batch, x)
        delta = x - reference
        total = torch.zeros_like(x)
        for k in range(self.n_steps):
            alpha = (k + 0.5) / self.n_steps
            point = (reference + alpha * delta).requires_grad_(True)
            (grad,) = torch.autograd.grad(self.model.forward_from_embeddings(point, batch.mask).sum(), point)
            total += grad
        scores = ((total / self.n_steps * delta).sum(dim=-1) * batch.mask).detach()
        return scores, x, reference

    def attribute(self, batch: JourneyBatch) -> torch.Tensor:
        with _eval_mode(self.model), _no_cudnn(), torch.enable_grad():
            return self._integrate(batch)[0]

    def completeness(self, batch: JourneyBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(scores [B, L], f(x) [B], f(x') [B]): completeness holds when scores.sum(1) ~ f(x) - f(x')."""
        with _eval_mode(self.model), _no_cudnn(), torch.enable_grad():
            scores, x, reference = self._integrate(batch)
            with torch.no_grad():
                logit = self.model.forward_from_embeddings(x, batch.mask)
                baseline_logit = self.model.forward_from_embeddings(reference, batch.mask)
        return scores, logit, baseline_logit


class AttentionAttribution:
    """Attention paid by the CLS token to each event, averaged over layers and heads.

    s_t = (1 / (N H)) sum_{l, h} A^{(l,h)}[CLS, t]

    from the weights the model's hooks captured (index 0 = CLS, events 1..L).
    ``layer`` and/or ``head`` restrict the mean to one layer / one head (per
    layer and head inspection). Only for models with ``has_attention``.
    """

    name = "attention"

    def __init__(self, model: SequenceModel, layer: int | None = None, head: int | None = None):
        if not getattr(model, "has_attention", False):
            raise TypeError(f"{type(model).__name__} exposes no attention weights")
        self.model, self.layer, self.head = model, layer, head

    def weights(self, batch: JourneyBatch) -> torch.Tensor:
        """The captured weights [N, B, H, L+1, L+1] of one forward pass."""
        with _eval_mode(self.model):
            self.model(batch)
        return torch.stack(self.model.attention_weights)

    @torch.no_grad()
    def attribute(self, batch: JourneyBatch) -> torch.Tensor:
        weights = self.weights(batch)
        if self.layer is not None:
            weights = weights[self.layer : self.layer + 1]
        if self.head is not None:
            weights = weights[:, :, self.head : self.head + 1]
        return weights.mean(dim=(0, 2))[:, 0, 1:] * batch.mask


class AttentionRollout(AttentionAttribution):
    """Attention rollout (Abnar & Zuidema, 2020): attention propagated through the layers.

    Per layer, heads averaged and the residual connection added as identity,
    rows renormalized: Â_l = row_normalize(0.5 mean_h A^{(l,h)} + 0.5 I);
    R = Â_N ... Â_1;  s_t = R[CLS, t]. Unlike the plain mean, an event reached
    only through other positions in earlier layers still gets credit.
    """

    name = "attention_rollout"

    def __init__(self, model: SequenceModel):
        super().__init__(model)

    @torch.no_grad()
    def attribute(self, batch: JourneyBatch) -> torch.Tensor:
        weights = self.weights(batch).mean(dim=2)  # [N, B, L+1, L+1]
        identity = torch.eye(weights.shape[-1], dtype=weights.dtype, device=weights.device)
        rollout = identity.expand_as(weights[0])
        for layer in weights:
            mixed = 0.5 * layer + 0.5 * identity
            mixed = mixed / mixed.sum(dim=-1, keepdim=True)
            rollout = mixed @ rollout
        return rollout[:, 0, 1:] * batch.mask


COMPLETENESS_COLUMNS = ["journey_id", "attribution_sum", "logit", "baseline_logit", "abs_error", "relative_error"]


def completeness_frame(
    journey_id: np.ndarray,
    attribution_sum: np.ndarray,
    logit: np.ndarray,
    baseline_logit: np.ndarray,
    min_gap: float = 1e-3,
) -> pd.DataFrame:
    """Per journey, how far integrated gradients is from completeness.

        abs_error      = | sum_t s_t - (f(x) - f(x')) |
        relative_error = abs_error / | f(x) - f(x') |   (NaN when |f(x) - f(x')| < ``min_gap``)

    on the raw (unnormalized) scores, f the logit. Columns COMPLETENESS_COLUMNS,
    sorted by journey_id. Summarize with :func:`completeness_summary`.
    """
    gap = np.asarray(logit, dtype=np.float64) - np.asarray(baseline_logit, dtype=np.float64)
    abs_error = np.abs(np.asarray(attribution_sum, dtype=np.float64) - gap)
    frame = pd.DataFrame(
        {
            "journey_id": journey_id,
            "attribution_sum": attribution_sum,
            "logit": logit,
            "baseline_logit": baseline_logit,
            "abs_error": abs_error,
            "relative_error": np.where(np.abs(gap) >= min_gap, abs_error / np.maximum(np.abs(gap), min_gap), np.nan),
        },
        columns=COMPLETENESS_COLUMNS,
    )
    return frame.sort_values("journey_id", kind="stable").reset_index(drop=True)


def completeness_summary(completeness: pd.DataFrame) -> dict:
    """The figures to report from a completeness table (:func:`completeness_frame`).

    ``total_relative_error`` = sum_j abs_error_j / sum_j |f(x_j) - f(x'_j)| (the
    headline: the share of the prediction difference the attributions miss),
    plus the median and 95th percentile of the per-journey relative error and
    ``n_journeys``.
    """
    gap = (completeness["logit"] - completeness["baseline_logit"]).abs()
    relative = completeness["relative_error"].dropna()
    return {
        "total_relative_error": float(completeness["abs_error"].sum() / gap.sum()) if gap.sum() > 0 else float("nan"),
        "median_relative_error": float(relative.median()) if len(relative) else float("nan"),
        "p95_relative_error": float(relative.quantile(0.95)) if len(relative) else float("nan"),
        "n_journeys": int(len(completeness)),
    }


#: method name -> class; the names of design.md's ``method`` column.
ATTRIBUTION_METHODS: dict[str, type] = {
    GradientXInput.name: GradientXInput,
    IntegratedGradients.name: IntegratedGradients,
    AttentionAttribution.name: AttentionAttribution,
    AttentionRollout.name: AttentionRollout,
}


def methods_for(model: SequenceModel) -> list[str]:
    """Names of the attribution methods that apply to ``model``."""
    names = [GradientXInput.name, IntegratedGradients.name]
    if getattr(model, "has_attention", False):
        names += [AttentionAttribution.name, AttentionRollout.name]
    return names


def normalize_scores(scores: torch.Tensor, mask: torch.Tensor, signed: bool = False) -> torch.Tensor:
    """score_t = |s_t| / sum_t |s_t| over real events; all-zero journeys get 1 / n_events.

    ``signed=True`` keeps the sign: s_t / sum_t |s_t| (an event that lowers the
    logit gets a negative share), so its absolute value is the unsigned score.
    """
    magnitude = scores.abs() * mask
    total = magnitude.sum(dim=1, keepdim=True)
    uniform = mask / mask.sum(dim=1, keepdim=True).clamp(min=1)
    values = scores * mask if signed else magnitude
    return torch.where(total > 0, values / total.clamp(min=torch.finfo(scores.dtype).tiny), uniform)
