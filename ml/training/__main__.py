"""Train one model family on exported marts, outside Dagster — runs unchanged under ``torchrun``.

    python -m ml.training --sequences seq.parquet --labels labels.parquet --model transformer_cls --out run/
    torchrun --nproc_per_node 4 -m ml.training --sequences ... --out run/     # DDP, one process per GPU

Writes ``<out>/model.pt`` (state dict, vocabularies, spec, options) from rank 0,
and with ``--save-every-rank`` each rank's weights as ``<out>/rank<r>.pt``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pandas as pd
import torch

from ml.data import build_sequence_data
from ml.evaluation import model_metrics
from ml.models import build_model
from ml.training.config import TrainConfig
from ml.training.distributed import distributed_context, local_device
from ml.training.trainer import train_model
from ml.written_files import written_whole


def _read(path: str) -> pd.DataFrame:
    return pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path, parse_dates=["event_at"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml.training", description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", required=True, help="a sequences mart export (parquet or csv)")
    parser.add_argument("--labels", required=True, help="the labels mart export (parquet or csv)")
    parser.add_argument("--model", default="lstm")
    parser.add_argument("--model-options", default="{}", help='JSON, e.g. \'{"d_model": 64}\'')
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--max-len", type=int, default=TrainConfig.max_len)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--save-every-rank", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, max_len=args.max_len, seed=args.seed,
        num_threads=args.threads, precision=args.precision,
    )
    context = distributed_context(local_device(config.device))
    data = build_sequence_data(_read(args.sequences), _read(args.labels), max_len=config.max_len)
    torch.manual_seed(config.seed)  # identical initial weights on every rank
    options = json.loads(args.model_options)
    model = build_model(args.model, data.spec, **options)
    result = train_model(model, data, config)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.cpu() for k, v in result.model.state_dict().items()}
    # Written whole or not at all: a killed run leaves the previous model.pt, never half of one.
    if args.save_every_rank:
        with written_whole(out / f"rank{context.rank}.pt") as partial:
            torch.save(state, partial)
    if context.is_main:
        with written_whole(out / "model.pt") as partial:
            torch.save(
                {"model": args.model, "options": options, "state_dict": state, "spec": data.spec,
                 "vocabularies": {k: v.tokens for k, v in data.vocabularies.items()}},
                partial,
            )
        print(model_metrics(result.model, data).to_string(index=False))
    if context.is_distributed:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
