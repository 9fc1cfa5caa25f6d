"""Shared by bench_train_*.py: one epoch of the product's trainer on ~200k simulated journeys
(dbt-built marts) against a naive reference loop of the same architecture in the same process.

The naive reference pads every journey to max_len, draws random batches, trains in
fp32; it runs for a fixed time budget and reports its rate over the batches it
finished. The product path is `ml.training.train_model`: length bucketing, plus
bf16 autocast where the caller asks for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import torch
from torch import nn

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from ml.data import RandomBatchSampler, build_sequence_data, collate_journeys  # noqa: E402
from ml.models import build_model  # noqa: E402
from ml.simulate import SimulationConfig, simulate_sessions  # noqa: E402
from ml.training import TrainConfig, train_model  # noqa: E402
from measure import bench_line, peak_mib  # noqa: E402

N_USERS = int(os.environ.get("BENCH_USERS", "100000"))  # ~200k journeys, ~3M events
NAIVE_SECONDS = float(os.environ.get("BENCH_NAIVE_SECONDS", "60"))
BATCH_SIZE = 256
MAX_LEN = 64


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def build_marts(home: Path, n_users: int = N_USERS):
    """Simulate, load raw tables into DuckDB, run the dbt models the trainer reads."""
    sequences, labels, _ = simulated_marts(home, n_users)
    return sequences, labels


def simulated_marts(home: Path, n_users: int = N_USERS, seed: int = 0):
    """build_marts for simulator seed `seed`, with the simulation (its truth) beside the marts."""
    started = time.perf_counter()
    sim = simulate_sessions(SimulationConfig(n_users=n_users, seed=seed))
    log(f"simulated {len(sim.events):,} events, {len(sim.sessions):,} sessions in {time.perf_counter() - started:.1f}s")
    warehouse = home / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw")
        con.register("events_frame", sim.events)
        con.register("stores_frame", sim.dimension_store)
        con.execute("create table raw.events as select * from events_frame")
        con.execute("create table raw.dimension_store as select * from stores_frame")
    started = time.perf_counter()
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [str(dbt), "run", "--quiet", "--profiles-dir", ".", "--select", "+fct_journey_sequences_no_funnel", "+fct_journey_labels"],
        cwd=REPO_ROOT / "dbt", check=True, env={**os.environ, "JOURNEYLIFT_HOME": str(home)},
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        sequences = con.sql("select * from marts.fct_journey_sequences_no_funnel").df()
        labels = con.sql("select * from marts.fct_journey_labels").df()
    log(f"dbt built the marts in {time.perf_counter() - started:.1f}s")
    return sequences, labels, sim


def naive_events_per_second(model_name: str, data, options: dict) -> float:
    """Reference loop: every batch padded to MAX_LEN, random batches, fp32, same model and loss."""
    torch.manual_seed(0)
    model = build_model(model_name, data.spec, **options)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    sampler = RandomBatchSampler(data.indices("train"), BATCH_SIZE, seed=0)
    events, started = 0, time.perf_counter()
    for journeys in sampler:
        batch = collate_journeys(data, journeys)
        pad = MAX_LEN - batch.mask.shape[1]
        batch.categorical = nn.functional.pad(batch.categorical, (0, 0, 0, pad))
        batch.numeric = nn.functional.pad(batch.numeric, (0, 0, 0, pad))
        batch.mask = nn.functional.pad(batch.mask, (0, pad))
        loss = loss_fn(model(batch), batch.label)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        events += batch.n_events
        if time.perf_counter() - started > NAIVE_SECONDS:
            break
    seconds = time.perf_counter() - started
    log(f"naive reference: {events:,} events in {seconds:.1f}s")
    return events / seconds


def run(name: str, model_name: str, options: dict, precision: str) -> None:
    torch.set_num_threads(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as tmp:
        sequences, labels = build_marts(Path(tmp))
    data = build_sequence_data(sequences, labels, max_len=MAX_LEN)
    train = data.indices("train")
    log(f"{data.n_journeys:,} journeys ({len(train):,} train), {int(data.lengths[train].sum()):,} train events")

    baseline = naive_events_per_second(model_name, data, options)
    torch.manual_seed(0)
    model = build_model(model_name, data.spec, **options)
    config = TrainConfig(epochs=1, batch_size=BATCH_SIZE, max_len=MAX_LEN, precision=precision, log_every=100)
    result = train_model(model, data, config, log=log)
    product = float(result.history[0]["events_per_second"])
    log(f"product trainer ({precision}, bucketing): {product:,.0f} events/s; naive: {baseline:,.0f} events/s; "
        f"validation AUC after one epoch {result.history[0]['val_auc']:.3f}")
    print(bench_line(name, "events_per_s", product, baseline, peak_mib()))
