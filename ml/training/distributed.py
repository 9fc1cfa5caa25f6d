"""Data-parallel training under ``torchrun``: DistributedDataParallel, one process per device.

The trainer calls :func:`distributed_context` once. Outside ``torchrun`` (no
``WORLD_SIZE`` > 1 in the environment) it returns a single-process context and
nothing changes. Under ``torchrun`` it joins the process group (gloo on CPU,
nccl on CUDA), every rank builds the same seeded batch order and takes every
``world_size``-th batch, and DDP averages gradients, so all ranks step the same
weights: the result equals single-process training on ``world_size`` times the
batch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Sampler


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def distributed_context(device: torch.device) -> DistributedContext:
    """Join the ``torchrun`` process group if there is one (idempotent)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistributedContext(rank=dist.get_rank(), world_size=dist.get_world_size())


def local_device(preferred: str = "auto") -> torch.device:
    """``auto``: this rank's GPU (LOCAL_RANK) when CUDA is available, else the CPU."""
    if preferred != "auto":
        return torch.device(preferred)
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


class ShardedBatchSampler(Sampler[list[int]]):
    """Every ``world_size``-th batch of ``batches``, from ``rank``; every rank gets the same count
    (the last incomplete round is dropped) so DDP's gradient all-reduce never waits forever."""

    def __init__(self, batches: Sampler[list[int]], rank: int, world_size: int):
        self.batches, self.rank, self.world_size = batches, rank, world_size

    def __len__(self) -> int:
        return len(self.batches) // self.world_size

    def __iter__(self) -> Iterator[list[int]]:
        all_batches = list(self.batches)  # same seeded order on every rank
        rounds = len(all_batches) // self.world_size
        yield from all_batches[self.rank : rounds * self.world_size : self.world_size]


class TrainingStep(nn.Module):
    """``model.training_outputs`` as a forward, so DDP's gradient hooks see the whole step
    (a family's extra loss included)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch, epoch: int):
        return self.model.training_outputs(batch, epoch)


def wrap_training_step(model: nn.Module, context: DistributedContext, device: torch.device) -> nn.Module:
    step = TrainingStep(model)
    if not context.is_distributed:
        return step
    return nn.parallel.DistributedDataParallel(
        step,
        device_ids=[device.index] if device.type == "cuda" else None,
        # Some families leave parameters unused in a step (e.g. a pre-training head).
        find_unused_parameters=True,
    )
