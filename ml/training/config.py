"""Training configuration with documented defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class TrainConfig:
    """How :func:`~ml.training.train_model` trains.

    epochs: 8 passes at most over the train journeys.
    patience: 2 epochs without a better validation AUC stop training.
    batch_size: 256 journeys per batch.
    lr: 1e-3 Adam learning rate; weight_decay: 1e-5 (Adam's L2 term).
    grad_clip: 1.0 max gradient norm (LSTMs and attention spike early).
    seed: 0 seeds torch and the batch order, so runs repeat.
    bucketing: True batches journeys of similar length (~4x faster than naive padding).
    max_len: 64 last events per journey; read by whoever builds the SequenceData.
    num_threads: None leaves torch's thread count alone; an int sets it.
    log_every: 50 batches between progress lines (0: epoch lines only).
    device: "auto" picks this rank's GPU when CUDA is available, else the CPU.
    precision: "auto" trains under bf16 autocast on CUDA and in fp32 on the CPU;
        "bf16" forces autocast (1.3-1.5x for the Transformer on this CPU), "fp32" never.
    """

    epochs: int = 8
    patience: int = 2
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-5
    grad_clip: float = 1.0
    seed: int = 0
    bucketing: bool = True
    max_len: int = 64
    num_threads: int | None = None
    log_every: int = 50
    device: str = "auto"
    precision: str = "auto"

    def to_dict(self) -> dict:
        return asdict(self)
