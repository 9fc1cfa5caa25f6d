"""The Transformer's default size against its size before issue 17, on the default simulation:
test AUC, the Spearman of its remove-and-re-predict effects against the simulator's truth, and
the training's CPU seconds, over two simulator seeds x three training seeds, each trained as the
graph trains it (ml.training defaults: at most 8 epochs, early stopping on validation AUC).

Baseline: d_model 192, 3 layers x 6 heads (931k parameters). Now: the class defaults. One torch
thread, so the CPU seconds compare on a shared machine. BENCH_SIM_SEEDS / BENCH_TRAIN_SEEDS
(comma-separated) pick the seeds. The BENCH figure is the mean training CPU seconds.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from measure import peak_mib  # noqa: E402
from training_speed import log, simulated_marts  # noqa: E402

from ml.counterfactual import counterfactual_effects, default_interventions  # noqa: E402
from ml.data import build_sequence_data  # noqa: E402
from ml.evaluation import model_metrics  # noqa: E402
from ml.evaluation import truth_scorecard  # noqa: E402
from ml.models import build_model  # noqa: E402
from ml.training import TrainConfig, train_model  # noqa: E402

SIM_SEEDS = [int(s) for s in os.environ.get("BENCH_SIM_SEEDS", "0,1").split(",")]
USERS = int(os.environ.get("BENCH_USERS", 5_000))
TRAIN_SEEDS = [int(s) for s in os.environ.get("BENCH_TRAIN_SEEDS", "0,1,2").split(",")]
SIZES = {"before (192 x 3 layers x 6 heads)": dict(d_model=192, n_layers=3, n_heads=6), "now (defaults)": {}}


def score(model, data, sequences, truth) -> float:
    """The graph's truth scorecard's Spearman of the model's remove_event:<event> effects
    against the true ones."""
    effects = counterfactual_effects(model, data, sequences, default_interventions(sequences), n_boot=20)
    scorecard = truth_scorecard(None, effects, None, truth).set_index("metric")
    return float(scorecard.loc["spearman_counterfactual_vs_truth", "value"])


def main() -> None:
    torch.set_num_threads(1)
    results = {name: [] for name in SIZES}
    for sim_seed in SIM_SEEDS:
        with tempfile.TemporaryDirectory() as tmp:
            sequences, labels, sim = simulated_marts(Path(tmp), n_users=USERS, seed=sim_seed)
        data, truth = build_sequence_data(sequences, labels), sim.truth
        for name, options in SIZES.items():
            for seed in TRAIN_SEEDS:
                torch.manual_seed(seed)
                model = build_model("transformer_cls", data.spec, **options)
                started = time.process_time()
                result = train_model(model, data, TrainConfig(log_every=0, seed=seed), log=lambda _m: None)
                cpu = time.process_time() - started
                auc = model_metrics(result.model, data).set_index("split").loc["test", "auc"]
                rho = score(result.model, data, sequences, truth)
                results[name].append((cpu, auc, rho))
                log(f"simulation {sim_seed}, {name}, training seed {seed}: {sum(p.numel() for p in model.parameters()):,} "
                    f"parameters, {cpu:.1f} CPU s, test AUC {auc:.4f}, counterfactual Spearman {rho:.3f}")
    means = {name: np.mean(np.asarray(rows), axis=0) for name, rows in results.items()}
    for name, (cpu, auc, rho) in means.items():
        print(f"{name}: mean {cpu:.1f} CPU s, test AUC {auc:.4f}, counterfactual Spearman vs truth {rho:.3f} "
              f"(min {min(r[2] for r in results[name]):.3f}, max {max(r[2] for r in results[name]):.3f})")
    (before, *_), (now, *_) = means.values()
    print(f"BENCH transformer_size cpu_seconds={now:.1f} baseline={before:.1f} ratio={before / now:.2f} "
          f"peak_mib={peak_mib():.0f}")


if __name__ == "__main__":
    main()
