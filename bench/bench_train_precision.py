"""bf16 autocast on the CPU for the graph's Transformer: the honest model trained as the graph
trains it (ml.training defaults: at most 8 epochs, early stopping on validation AUC) at the
default scale (5,000 simulated users, dbt-built no_funnel marts), in fp32 (the baseline: what
"auto" picks on a CPU) and under bf16 autocast, same seed, one after the other in one process.

The figure is the training's seconds; the test AUC of both is printed, since bf16 is only worth
having where it keeps the AUC (issue 17: within 0.01). BENCH_USERS sets the scale.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from measure import peak_mib  # noqa: E402
from training_speed import build_marts, log  # noqa: E402

from ml.data import build_sequence_data  # noqa: E402
from ml.evaluation import model_metrics  # noqa: E402
from ml.models import build_model  # noqa: E402
from ml.training import TrainConfig, train_model  # noqa: E402

USERS = int(os.environ.get("BENCH_USERS", 5_000))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sequences, labels = build_marts(Path(tmp), n_users=USERS)
    data = build_sequence_data(sequences, labels)
    results = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = build_model("transformer_cls", data.spec)
        result = train_model(model, data, TrainConfig(precision=precision, log_every=0), log=log)
        metrics = model_metrics(result.model, data).set_index("split")
        results[precision] = (result.train_seconds, metrics.loc["test", "auc"], metrics.loc["validation", "auc"],
                              result.best_epoch)
        log(f"{precision}: {result.train_seconds:.1f} s, best epoch {result.best_epoch}, validation AUC "
            f"{metrics.loc['validation', 'auc']:.4f}, test AUC {metrics.loc['test', 'auc']:.4f}")
    (fp32, fp32_auc, _, _), (bf16, bf16_auc, _, _) = results["fp32"], results["bf16"]
    print(f"test AUC: fp32 {fp32_auc:.4f}, bf16 {bf16_auc:.4f} (difference {bf16_auc - fp32_auc:+.4f})")
    print(f"BENCH train_transformer_cls_bf16 seconds={bf16:.1f} baseline={fp32:.1f} ratio={fp32 / bf16:.2f} "
          f"peak_mib={peak_mib():.0f}")


if __name__ == "__main__":
    main()
