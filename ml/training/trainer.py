"""The one trainer: binary cross-entropy, Adam, early stopping on validation AUC."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
import torch
from torch import nn

from ml.data import SequenceData, journey_loader
from ml.evaluation import predict_proba, score_predictions
from ml.models import SequenceModel
from ml.training.config import TrainConfig
from ml.training.distributed import ShardedBatchSampler, distributed_context, local_device, wrap_training_step

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """The trained model (best epoch's weights restored) and what happened per epoch.

    history: one dict per epoch with epoch, train_loss, val_auc, val_log_loss,
    seconds, events_per_second, n_journeys, n_events.
    """

    model: SequenceModel
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_val_auc: float = float("nan")
    train_seconds: float = 0.0

    def history_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.history)


def _autocast(precision: str, device: torch.device):
    """A context factory: bf16 autocast where asked (or on CUDA under "auto"), else a no-op."""
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be auto, bf16 or fp32, not {precision!r}")
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    if not use_bf16:
        return nullcontext
    return partial(torch.autocast, device_type=device.type, dtype=torch.bfloat16)


def _as_log(log) -> Callable[[str], None]:
    if log is None:
        return logger.info
    if isinstance(log, logging.Logger) or hasattr(log, "info"):
        return log.info
    return log


def train_model(
    model: SequenceModel, data: SequenceData, config: TrainConfig | None = None, log=None
) -> TrainResult:
    """Train ``model`` on the train journeys of ``data``.

    Minimises binary cross-entropy with logits,
    L = -mean_i [y_i log sigmoid(f_i) + (1 - y_i) log(1 - sigmoid(f_i))],
    with Adam. After each epoch the validation AUC is computed; training stops
    after ``config.patience`` epochs without improvement and the best epoch's
    weights are restored. Without validation journeys of both classes the
    score is minus the validation (or train) log loss instead.

    ``log`` is a callable taking one string or a ``logging.Logger`` (default:
    this module's logger): one line every ``config.log_every`` batches and
    one per epoch, with counts and events/s.
    """
    config = config or TrainConfig()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    torch.manual_seed(config.seed)
    device = local_device(config.device)
    model.to(device)
    dist_context = distributed_context(device)
    emit = _as_log(log) if dist_context.is_main else (lambda _message: None)
    autocast = _autocast(config.precision, device)

    train_idx = data.indices("train")
    val_idx = data.indices("validation")
    if len(train_idx) == 0:
        raise ValueError("no train journeys to train on")
    shard = None
    if dist_context.is_distributed:
        shard = partial(ShardedBatchSampler, rank=dist_context.rank, world_size=dist_context.world_size)
    loader = journey_loader(
        data, train_idx, config.batch_size, shuffle=True, bucketing=config.bucketing, seed=config.seed, shard=shard
    )
    # Self-supervised pre-training first: wrapping in DDP then broadcasts rank 0's weights,
    # so every rank starts the supervised phase from the same point.
    pretrain_started = time.perf_counter()
    model.pretrain(data, train_idx, config, emit)
    step_fn = wrap_training_step(model, dist_context, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss(reduction="sum")
    n_batches = len(loader)
    emit(
        f"training {getattr(model, 'name', type(model).__name__)}: {len(train_idx):,} train / "
        f"{len(val_idx):,} validation journeys, {n_batches} batches of {config.batch_size}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters, on {device}"
        + (f", rank 0 of {dist_context.world_size}" if dist_context.is_distributed else "")
        + (f", {config.precision} precision" if config.precision != "auto" else "")
    )

    result = TrainResult(model=model)
    best_score, best_state, stale = -np.inf, None, 0
    started = time.perf_counter()
    if not getattr(model, "trains_by_epochs", True):
        _score_fitted(model, data, train_idx, val_idx, result, time.perf_counter() - pretrain_started, emit)
        return result
    for epoch in range(1, config.epochs + 1):
        model.train()
        epoch_start = time.perf_counter()
        total_loss, seen_journeys, seen_events = 0.0, 0, 0
        for step, batch in enumerate(loader, start=1):
            batch = batch.to(device)
            with autocast():
                logits, extra_loss = step_fn(batch, epoch)
                loss = loss_fn(logits.float(), batch.label)
                if extra_loss is not None:
                    loss = loss + extra_loss.float()
            optimizer.zero_grad(set_to_none=True)
            (loss / len(batch)).backward()
            if config.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            total_loss += float(loss.detach())
            seen_journeys += len(batch)
            seen_events += batch.n_events
            if config.log_every and step % config.log_every == 0:
                rate = seen_events / max(time.perf_counter() - epoch_start, 1e-9)
                emit(
                    f"epoch {epoch} batch {step}/{n_batches}: loss {total_loss / seen_journeys:.4f}, "
                    f"{seen_journeys:,} journeys, {rate:,.0f} events/s"
                )
        seconds = time.perf_counter() - epoch_start
        train_loss = total_loss / max(seen_journeys, 1)
        val = score_predictions(data.label[val_idx], predict_proba(model, data, "validation"))
        if np.isfinite(val["auc"]):
            score = val["auc"]
        else:  # no validation journeys of both classes: fall back to minus a loss
            score = -(val["log_loss"] if np.isfinite(val["log_loss"]) else train_loss)
        stats = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_auc": val["auc"],
            "val_log_loss": val["log_loss"],
            "seconds": seconds,
            "events_per_second": seen_events / max(seconds, 1e-9),
            "n_journeys": seen_journeys,
            "n_events": seen_events,
        }
        result.history.append(stats)
        improved = score > best_score
        emit(
            f"epoch {epoch}/{config.epochs}: train loss {train_loss:.4f}, val AUC {val['auc']:.4f}, "
            f"val log loss {val['log_loss']:.4f}, {seen_journeys:,} journeys / {seen_events:,} events "
            f"in {seconds:.1f}s ({stats['events_per_second']:,.0f} events/s){' *' if improved else ''}"
        )
        if improved:
            best_score, stale = score, 0
            best_state = copy.deepcopy(model.state_dict())
            result.best_epoch, result.best_val_auc = epoch, val["auc"]
        else:
            stale += 1
            if stale >= config.patience:
                emit(f"early stop after epoch {epoch}: no better validation score for {stale} epochs")
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    result.train_seconds = time.perf_counter() - started
    emit(f"best epoch {result.best_epoch} (val AUC {result.best_val_auc:.4f}), {result.train_seconds:.1f}s")
    return result


def _score_fitted(model: SequenceModel, data: SequenceData, train_idx: np.ndarray, val_idx: np.ndarray,
                  result: TrainResult, seconds: float, emit) -> None:
    """A family fitted whole in its pre-training: one validation score, recorded as epoch 0, with
    the fit's seconds and the train events per second of it."""
    model.eval()
    val = score_predictions(data.label[val_idx], predict_proba(model, data, "validation"))
    n_events = int(data.lengths[train_idx].sum())
    result.history.append({"epoch": 0, "train_loss": float("nan"), "val_auc": val["auc"], "val_log_loss": val["log_loss"],
                           "seconds": seconds, "events_per_second": n_events / max(seconds, 1e-9),
                           "n_journeys": len(train_idx), "n_events": n_events})
    result.best_epoch, result.best_val_auc, result.train_seconds = 0, val["auc"], seconds
    emit(f"fitted in pre-training (no supervised epochs) in {seconds:.1f}s: val AUC {val['auc']:.4f}, "
         f"val log loss {val['log_loss']:.4f}")
