"""Every estimator of event effects against the simulator's truth, over seeds, under the
latent-intent model's assumptions and under each violation of them (issue 18).

For each scenario of ml.simulate.SCENARIOS (the default, and one switch that breaks an assumption
each) and each simulator seed, at the default size (5,000 users) and holdout (10%), plus the
default at holdouts of 1%, 5% and 20%, and at 20,000 users (3 seeds):

- the journeys straight from the simulation (SessionsSimulation.browsing_journeys: the browsing
  events of each session, which the no_funnel mart keeps), tensors as the graph builds them;
- remove and re-predict with logreg_counts and gru4rec (trained as the graph trains them);
- latent_intent: abduction with the strength of intent from the journeys alone, and grounded by
  the randomized holdout (the experiment's estimate and interval from ml.counterfactual.experiment_effect);
- intent_known: the same head fitted and read with each journey's true intent (default scenario
  only): the floor that sampling noise leaves at this size;
- scored with ml.evaluation.truth_scorecard over the remove_event rows (never remove_ad_events):
  Spearman, Kendall, effect_error_share, sign_accuracy; the ad effect's relative error; whether
  the falsification check fires (a negative control away from zero).

    python bench/bench_intent_scenarios.py                   # everything: one run per core, ~35 min on 2 cores
    python bench/bench_intent_scenarios.py --quick           # 1 seed, default scenario, 2,000 users
    python bench/bench_intent_scenarios.py --part 0/2        # every other run (to split across machines)
    python bench/bench_intent_scenarios.py --table           # the README table from the runs written so far

Each run is one JSON file under bench/results/intent_scenarios/ (so runs can be split and resumed:
a run whose file exists is not run again; delete the folder to start over).
The last line: BENCH intent_scenarios effect_error_share=<latent_intent abduction, default,
mean over seeds> baseline=<best remove-and-re-predict family, same runs> ratio=baseline/value.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from ml.counterfactual import (  # noqa: E402
    experiment_effect,
    ground_intent_strength,
    model_effects,
    negative_control_departures,
)
from ml.data import build_sequence_data  # noqa: E402
from ml.estimands import ABDUCTION_ESTIMATOR, GROUNDED_ABDUCTION_ESTIMATOR, REMOVE_AD_EVENTS  # noqa: E402
from ml.evaluation import predict_proba, score_predictions, truth_scorecard  # noqa: E402
from ml.models import build_model  # noqa: E402
from ml.simulate import NEGATIVE_CONTROL_EVENTS, SCENARIOS, SimulationConfig, simulate_sessions  # noqa: E402
from ml.training import TrainConfig, train_model  # noqa: E402

RESULTS = REPO_ROOT / "bench" / "results" / "intent_scenarios"
SEEDS = (0, 1, 2, 3, 4)
HOLDOUTS = (0.01, 0.05, 0.2)  # besides the default 0.1, for the default scenario
LARGE = 20_000  # users: the default scenario again at four times the data, 3 seeds
N_REFITS = 20  # the latent-intent intervals: head refits on resampled train journeys (as intent_grounding)
OBSERVATIONAL = ("logreg_counts", "gru4rec")
METRICS = ("spearman_counterfactual_vs_truth", "kendall_counterfactual_vs_truth", "effect_error_share", "sign_accuracy")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def runs(quick: bool) -> list[dict]:
    if quick:
        return [{"scenario": "default", "seed": 0, "holdout": 0.1, "n_users": 2000}]
    plan = [{"scenario": s, "seed": seed, "holdout": 0.1, "n_users": 5000} for s in SCENARIOS for seed in SEEDS]
    plan += [{"scenario": "default", "seed": seed, "holdout": h, "n_users": 5000} for h in HOLDOUTS for seed in SEEDS]
    plan += [{"scenario": "default", "seed": seed, "holdout": 0.1, "n_users": LARGE} for seed in SEEDS[:3]]
    return plan


def run_name(run: dict) -> str:
    return f"{run['scenario']}__seed{run['seed']}__holdout{run['holdout']}__users{run['n_users']}"


def intent_known(model, data, sequences, sim) -> pd.DataFrame:
    """The reference no estimator can beat: the latent-intent head fitted and read with every
    journey's true intent (the simulator's z) in place of the inferred one: what is left of its
    error is the sampling noise of the per-event effects at this size."""
    oracle = copy.deepcopy(model)
    true = torch.as_tensor(sim.sessions.set_index("session_key")["intent"].reindex(data.journey_id).to_numpy(),
                           dtype=torch.float32)[:, None]
    inferred = oracle.journey_events

    def journey_events(data, journeys, batch_size=1024, posteriors=None):
        events = inferred(data, journeys, batch_size, posteriors)
        return replace(events, mu=true[events.journeys], logvar=torch.full_like(true[events.journeys], -12.0))

    oracle.journey_events = journey_events
    oracle.fit_head(data, oracle.journey_events(data, data.indices("train")), steps=300)
    return model_effects(oracle, data, sequences, split="test", swaps=False).assign(
        model="intent_known", variant="no_funnel", estimator=ABDUCTION_ESTIMATOR)


def one_run(run: dict) -> dict:
    torch.set_num_threads(1)
    started = time.perf_counter()
    config = SimulationConfig(n_users=run["n_users"], seed=run["seed"], holdout_share=run["holdout"],
                              null_session_id_share=0.0, **SCENARIOS[run["scenario"]])
    sim = simulate_sessions(config)
    sequences, labels = sim.browsing_journeys(split_seed=run["seed"])
    data = build_sequence_data(sequences, labels)
    frames, extra = [], {}
    for family in (*OBSERVATIONAL, "latent_intent"):
        torch.manual_seed(0)
        model = build_model(family, data.spec)
        train_model(model, data, TrainConfig(log_every=0), log=lambda _m: None)
        extra[f"test_auc__{family}"] = score_predictions(data.label[data.indices("test")],
                                                         predict_proba(model, data, "test"))["auc"]
        refits = N_REFITS if family == "latent_intent" else 0
        effects = model_effects(model, data, sequences, split="test", swaps=False, n_refits=refits)
        frames.append(effects.assign(model=family, variant="no_funnel"))
        if family == "latent_intent":
            extra["intent_strength_fitted"] = float(model.intent_strength.detach().abs()[0])
            extra["falsification_fired__abduction"] = not negative_control_departures(effects, NEGATIVE_CONTROL_EVENTS).empty
            experiment = experiment_effect(sim.experiment_journeys()).iloc[0]
            grounded, grounding = ground_intent_strength(model, data, float(experiment["effect"]),
                                                         (float(experiment["ci_low"]), float(experiment["ci_high"])))
            extra.update(intent_strength_grounded=grounding.intent_strength, at_boundary=grounding.at_boundary,
                         experiment_effect=float(experiment["effect"]))
            effects = model_effects(grounded, data, sequences, split="test", swaps=False, n_refits=refits)
            frames.append(effects.assign(model=family, variant="no_funnel", estimator=GROUNDED_ABDUCTION_ESTIMATOR))
            extra["falsification_fired__abduction_grounded"] = not negative_control_departures(
                effects, NEGATIVE_CONTROL_EVENTS).empty
            if run["scenario"] == "default":
                frames.append(intent_known(model, data, sequences, sim))
    effects = pd.concat(frames, ignore_index=True)
    effects["method"] = effects["estimator"]
    card = truth_scorecard(None, effects, None, sim.truth)
    truth = sim.truth.set_index("intervention")["true_effect"]
    ad = effects[effects["intervention"] == REMOVE_AD_EVENTS]
    rows = [{"estimator": f"{r.model}/{r.method}", "metric": r.metric, "value": r.value} for r in card.itertuples()
            if r.metric in METRICS]
    rows += [{"estimator": f"{r.model}/{r.method}", "metric": "ad_effect_relative_error",
              "value": abs(r.effect - truth[REMOVE_AD_EVENTS]) / abs(truth[REMOVE_AD_EVENTS])} for r in ad.itertuples()]
    rows.append({"estimator": "experiment/randomized_holdout", "metric": "ad_effect_relative_error",
                 "value": abs(extra["experiment_effect"] - truth["ad_experiment_exposed"]) / abs(truth["ad_experiment_exposed"])})
    return {**run, "seconds": time.perf_counter() - started, "scores": rows, **extra,
            "effects": effects[["model", "method", "intervention", "effect", "ci_low", "ci_high"]].to_dict("records"),
            "truth": truth.to_dict()}


def table() -> tuple[str, float, float]:
    records = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))]
    rows = [{"scenario": r["scenario"], "users": r["n_users"], "holdout": r["holdout"], "seed": r["seed"], **s}
            for r in records for s in r["scores"]]
    frame = pd.DataFrame(rows)
    summary = (frame.groupby(["scenario", "users", "holdout", "estimator", "metric"])["value"]
               .agg(mean="mean", sd="std", n="count").reset_index())
    summary["cell"] = [f"{m:.2f} ± {s:.2f}" if n > 1 else f"{m:.2f}" for m, s, n in
                       zip(summary["mean"], summary["sd"].fillna(0), summary["n"])]
    wide = summary.pivot_table(index=["scenario", "users", "holdout", "estimator"], columns="metric", values="cell",
                               aggfunc="first").reset_index()
    fired = pd.DataFrame([{"scenario": r["scenario"], "users": r["n_users"], "holdout": r["holdout"],
                           "abduction": r["falsification_fired__abduction"],
                           "grounded": r["falsification_fired__abduction_grounded"],
                           "strength_fitted": r["intent_strength_fitted"], "strength_grounded": r["intent_strength_grounded"]}
                          for r in records])
    checks = fired.groupby(["scenario", "users", "holdout"]).agg(
        fired_abduction=("abduction", "mean"), fired_grounded=("grounded", "mean"),
        strength_fitted=("strength_fitted", "mean"), strength_grounded=("strength_grounded", "mean"), runs=("abduction", "size"),
    ).reset_index()
    default = frame[(frame["scenario"] == "default") & (frame["users"] == frame["users"].min()) & (frame["holdout"] == 0.1)
                    & (frame["metric"] == "effect_error_share")]
    mean_of = default.groupby("estimator")["value"].mean()
    value = float(mean_of.get(f"latent_intent/{ABDUCTION_ESTIMATOR}", np.nan))
    baseline = float(min(mean_of.get(f"{f}/remove_and_repredict", np.inf) for f in OBSERVATIONAL))
    text = wide.to_markdown(index=False) + "\n\nfalsification check (share of runs where it fired) and the strength of intent:\n"
    return text + checks.round(2).to_markdown(index=False), value, baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--part", default="0/1", help="i/n: run every n-th run starting at i")
    parser.add_argument("--table", action="store_true", help="only print the table of the runs written so far")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="runs side by side (default: one per core)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.table:
        index, parts = map(int, args.part.split("/"))
        pending = [run for number, run in enumerate(runs(args.quick))
                   if number % parts == index and not (RESULTS / f"{run_name(run)}.json").exists()]
        # One torch thread per run, one run per core.
        with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, len(pending) or 1))) as pool:
            for run, result in zip(pending, pool.map(one_run, pending)):
                (RESULTS / f"{run_name(run)}.json").write_text(json.dumps(result, default=float))
                log(f"{run_name(run)}: {result['seconds']:.0f}s")
    text, value, baseline = table()
    print(text)
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    print(f"BENCH intent_scenarios effect_error_share={value:.3f} baseline={baseline:.3f} "
          f"ratio={baseline / value:.2f} peak_mib={peak:.0f}")


if __name__ == "__main__":
    main()
