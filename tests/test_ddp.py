"""Training runs unchanged under torchrun with DistributedDataParallel (gloo on CPU)."""

import os
import socket
import subprocess
import sys

import torch

from ml.data import build_sequence_data, planted_signal_frames


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_hold_identical_weights_after_training(tmp_path):
    sequences, labels = planted_signal_frames(n_journeys=300, seed=5)
    sequences.to_parquet(tmp_path / "sequences.parquet")
    labels.to_parquet(tmp_path / "labels.parquet")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
        "-m", "ml.training",
        "--sequences", str(tmp_path / "sequences.parquet"), "--labels", str(tmp_path / "labels.parquet"),
        "--model", "lstm", "--model-options", '{"hidden_size": 8, "embedding_dim": 4}',
        "--epochs", "1", "--batch-size", "32", "--threads", "1",
        "--out", str(tmp_path / "run"), "--save-every-rank",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stdout + done.stderr
    # Each rank trains on its own half of the batches; DDP averages their gradients.
    n_train = len(build_sequence_data(sequences, labels).indices("train"))
    assert "rank 0 of 2" in log
    assert f"{n_train:,} train" in log and f"{-(-n_train // 32) // 2} batches of 32" in log

    rank0 = torch.load(tmp_path / "run" / "rank0.pt")
    rank1 = torch.load(tmp_path / "run" / "rank1.pt")
    saved = torch.load(tmp_path / "run" / "model.pt", weights_only=False)
    assert rank0.keys() == rank1.keys()
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    # The step really happened: weights moved away from the seeded initialization.
    torch.manual_seed(0)
    from ml.models import build_model

    initial = build_model("lstm", saved["spec"], hidden_size=8, embedding_dim=4).state_dict()
    assert any(not torch.equal(initial[n], rank0[n]) for n in rank0)
