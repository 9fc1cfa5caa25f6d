"""Per-event attribution methods, one class each (captum's shape).

Each ``attribute(batch)`` returns raw per-event scores [B, L] (zero on
padding); :func:`normalize_scores` turns them into shares that sum to 1 per
journey.

The gradient methods are captum's layer methods on the model's input
embedding (``model.embedding``, whose output is x = ``model.embed(batch)``
[B, L, D] in every family): :class:`GradientXInput` is
``LayerGradientXActivation`` and :class:`IntegratedGradients` is
``LayerIntegratedGradients``, each summed over D. The attention methods
(:class:`AttentionAttribution`, :class:`AttentionRollout`) stay hand-written:
captum has neither the CLS attention mean nor attention rollout.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import torch
from captum.attr import LayerGradientXActivation, LayerIntegratedGradients

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


def _logit_function(model: SequenceModel):
    """f(categorical, numeric, mask, label, index) = model(JourneyBatch(...)): the logit [B] captum differentiates.

    captum hands the forward function the batch as loose tensors (and, for
    integrated gradients, each repeated once per path point), so the batch is
    rebuilt around them.
    """

    def logit(categorical, numeric, mask, label, index):
        return model(JourneyBatch(categorical, numeric, mask, label, index))

    return logit


def _captum_inputs(batch: JourneyBatch) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """(inputs, additional_forward_args) for captum: the embedded tensors, then the rest of the batch."""
    return (batch.categorical, batch.numeric), (batch.mask, batch.label, batch.index)


def _padding_inputs(batch: JourneyBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """The padding input (every categorical index 0, numerics 0): its embedding x' is the zero vector."""
    return torch.zeros_like(batch.categorical), torch.zeros_like(batch.numeric)


class GradientXInput:
    """Gradient x input on the per-event input vectors.

    s_t = sum_d x_{t,d} * d f(x) / d x_{t,d},

    with f the conversion logit and x_t = ``model.embed(batch)[:, t]``. For a
    model linear in x (f = sum_t v . x_t + b) this is exactly v . x_t, each
    event's additive share of the logit. captum's ``LayerGradientXActivation``
    on ``model.embedding`` computes the products x_{t,d} * df/dx_{t,d}; the sum
    over d and the mask are ours.
    """

    name = "grad_x_input"

    def __init__(self, model: SequenceModel):
        self.model = model
        self._captum = LayerGradientXActivation(_logit_function(model), model.embedding)

    def attribute(self, batch: JourneyBatch) -> torch.Tensor:
        inputs, forward_args = _captum_inputs(batch)
        with _eval_mode(self.model), _no_cudnn():
            products = self._captum.attribute(inputs, additional_forward_args=forward_args)
        return (products.sum(dim=-1) * batch.mask).detach()


#: Riemann steps of integrated gradients by default (see :class:`IntegratedGradients`).
#: Measured total completeness error at 16 steps on small trained models: 0.3-2%
#: (lstm, gru4rec, sasrec, seq_vae, srgnn, bilstm_transformer, transformer_cls);
#: 32 steps roughly halves it at twice the cost.
DEFAULT_IG_STEPS = 16
IG_BASELINES = ("zeros", "padding")


class IntegratedGradients:
    """Integrated gradients along the straight line from a baseline x' to the input x.

    s_t = sum_d (x - x')_{t,d} * (1/m) sum_{k=1..m} d f(x' + a_k (x - x')) / d x_{t,d},  a_k = (k - 1/2)/m

    (midpoint Riemann sum, ``n_steps`` = m >= 2; f the conversion logit, the mask
    kept as the journey's). Completeness: sum_t s_t ~ f(x) - f(x'); the
    midpoint rule's error falls as 1/m^2 (see :meth:`completeness` and
    :func:`~ml.attribution.integrated_gradients_attribution`). captum's
    ``LayerIntegratedGradients`` on ``model.embedding`` with
    ``method="riemann_middle"`` computes the per-dimension terms; the sum over
    d and the mask are ours.

    ``baseline``: ``"padding"`` (x' = the embedding of the padding input,
    every categorical index 0 and numerics 0, with the journey's own mask:
    the "no event here" input) or ``"zeros"`` (x' = 0): two names of one
    baseline, since every family embeds padding to the zero vector
    (FeatureEmbedding's and Item2Vec's padding rows are zero, and so is the
    event one-hot of padding). captum's layer methods take baselines in the
    input space and embed them, so ``"zeros"`` raises a ValueError for a model
    whose padding embedding is not zero (none of the registered families), and
    so does a tensor baseline in x's space: the hand-written integral that took
    one is gone, as only a test used it (a hand-written method stays only where
    a test shows captum cannot do the job).

    ``internal_batch_size``: how many journeys x path points one forward and
    backward pass holds, captum's argument, raised to at least the batch's B
    journeys. ``None`` (the default) means exactly B: one path point per pass,
    the memory of one forward + backward of the batch, as the loop over path
    points this class replaced. Unlike captum's own ``None`` (all B * m at
    once), which on one CPU thread ran 1.3-2.5x slower than one point per pass
    (transformer_cls d_model 64 and lstm, 2,000 journeys of up to 64 events,
    batches of 512); larger chunks were at best a few percent faster
    (transformer_cls, batches of 128) and up to 1.4x slower (lstm). A larger
    value may pay on a GPU.

    Cost per batch: ``n_steps`` forward + backward passes, plus two forward
    passes for captum to embed x and x' (and for :meth:`completeness` three
    more: f(x) and f(x') for captum's delta, f(x) for ours).
    """

    name = "integrated_gradients"

    def __init__(
        self,
        model: SequenceModel,
        n_steps: int = DEFAULT_IG_STEPS,
        baseline="zeros",
        internal_batch_size: int | None = None,
    ):
        if n_steps < 2:
            raise ValueError("n_steps must be at least 2 (captum's Riemann rules refuse a single step)")
        if isinstance(baseline, torch.Tensor):
            raise ValueError(
                "a tensor baseline in the embedding space is not supported: captum's LayerIntegratedGradients "
                f"takes baselines in the input space; use one of {IG_BASELINES}"
            )
        if not isinstance(baseline, str) or baseline not in IG_BASELINES:
            raise ValueError(f"unknown baseline {baseline!r}; expected one of {IG_BASELINES}")
        if internal_batch_size is not None and internal_batch_size < 1:
            raise ValueError("internal_batch_size must be at least 1 (or None)")
        self.model = model
        self.n_steps = n_steps
        self.baseline = baseline
        self.internal_batch_size = internal_batch_size
        self._captum = LayerIntegratedGradients(_logit_function(model), model.embedding)

    def _check_zero_baseline(self, batch: JourneyBatch) -> None:
        # "zeros" promises x' = 0, which captum can only reach as the padding input's embedding.
        categorical, numeric = (t[:1, :1] for t in _padding_inputs(batch))
        one_step = JourneyBatch(categorical, numeric, batch.mask[:1, :1], batch.label[:1], batch.index[:1])
        with torch.no_grad():
            padding_vector = self.model.embed(one_step)
        if padding_vector.abs().max() > 0:
            raise ValueError(
                f"baseline 'zeros': {type(self.model).__name__} embeds padding to a nonzero vector, and captum's "
                "LayerIntegratedGradients takes baselines in the input space; use baseline='padding'"
            )

    def _integrate(self, batch: JourneyBatch, with_delta: bool):
        if self.baseline == "zeros":
            self._check_zero_baseline(batch)
        inputs, forward_args = _captum_inputs(batch)
        # Below one whole batch per pass captum warns and then uses one batch anyway.
        internal_batch_size = max(self.internal_batch_size or 0, len(batch))
        out = self._captum.attribute(
            inputs,
            baselines=_padding_inputs(batch),
            additional_forward_args=forward_args,
            n_steps=self.n_steps,
            method="riemann_middle",
            internal_batch_size=internal_batch_size,
            return_convergence_delta=with_delta,
        )
        terms, delta = out if with_delta else (out, None)
        return (terms.sum(dim=-1) * batch.mask).detach(), delta

    def attribute(self, batch: JourneyBatch) -> torch.Tensor:
        with _eval_mode(self.model), _no_cudnn():
            return self._integrate(batch, with_delta=False)[0]

    def completeness(self, batch: JourneyBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(scores [B, L], f(x) [B], f(x') [B]): completeness holds when scores.sum(1) ~ f(x) - f(x').

        f(x') is read off captum's convergence delta,
        delta = sum_t s_t - (f(x) - f(x')), so f(x') = f(x) - sum_t s_t + delta
        (to float rounding): one forward pass for f(x) on top of captum's.
        """
        with _eval_mode(self.model), _no_cudnn():
            scores, delta = self._integrate(batch, with_delta=True)
            with torch.no_grad():
                logit = self.model(batch)
        return scores, logit, logit - scores.sum(dim=1) + delta.to(logit.dtype)


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
