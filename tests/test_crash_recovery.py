"""A crash loses nothing (issue 16): a process killed with SIGKILL while it writes an output table,
while dbt builds and while a model trains leaves every table and file whole (the previous version
or the new one, never half), and the next run completes.

- Output tables: the warehouse table is replaced in one statement (`create or replace ... as
  select`), its outputs/ copy written beside and swapped in (ml.written_files). The writer is killed
  while each is being written; what a reader finds is one whole version.
- dbt: `dbt build` is killed when it starts the intermediate models; the next build passes every
  model and test, leaves no dbt temporary relation behind, and gives the marts of an uninterrupted
  build.
- Training: `python -m ml.training` is killed mid-training; the previous model.pt still loads, and
  the next run writes a new one.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import torch
from graph_runs import build_folder_source
from test_time_and_orphans import EVENTS, STORES

from dagster_project.defs.resources import dbt_executable
from dagster_project.settings import DBT_PROJECT_DIR
from dagster_project.warehouse import CSV_MAX_ROWS
from ml.contract import CONTRACT_TABLES
from ml.data import planted_signal_frames

# The largest table outputs/ keeps as CSV, with enough columns that its CSV copy takes about a
# second to write, so a kill lands inside it.
ROWS, COLUMNS = CSV_MAX_ROWS, 12
WRITER = textwrap.dedent(f"""
    import sys
    import numpy as np
    import pandas as pd
    from dagster_project.warehouse import Warehouse, output_file

    for version in range(1, 1000):
        frame = pd.DataFrame({{"version": np.full({ROWS}, version), "row": np.arange({ROWS}),
                               **{{f"x{{i}}": np.random.default_rng(i).random({ROWS}) for i in range({COLUMNS})}}}})
        print("table", version, flush=True)
        Warehouse().write_table("journeylift", "crash_table", frame)
        print("file", version, flush=True)
        output_file("crash_table", frame)
""")


def _kill_on(process: subprocess.Popen, marker: str, delay: float) -> list[str]:
    """Read `process`'s lines until one holds `marker`, wait `delay`, SIGKILL it; its lines."""
    lines = []
    for line in process.stdout:
        lines.append(line.strip())
        if marker in line:
            time.sleep(delay)
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, lines
    return lines


def _whole_versions(home: Path) -> tuple[set, set]:
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        table = con.sql("select count(*), count(distinct version), min(version) from journeylift.crash_table").fetchall()[0]
    assert table[0] == ROWS and table[1] == 1, f"table half written: {table}"
    csv = pd.read_csv(home / "outputs" / "crash_table.csv")
    assert len(csv) == ROWS and csv["version"].nunique() == 1, "outputs/crash_table.csv half written"
    return {table[2]}, set(csv["version"].unique())


@pytest.mark.parametrize("marker", ["table 2", "file 2"])
def test_an_output_table_killed_mid_write_is_whole_and_the_next_write_succeeds(marker, tmp_path):
    env = {**os.environ, "JOURNEYLIFT_HOME": str(tmp_path)}
    writer = subprocess.Popen([sys.executable, "-c", WRITER], env=env, stdout=subprocess.PIPE, text=True)
    lines = _kill_on(writer, marker, delay=0.4)
    partials = list((tmp_path / "outputs").glob(".crash_table.*.partial.csv"))
    if marker == "file 2":
        assert partials, "the kill should land inside the CSV write"  # what a plain to_csv would leave half
    table_version, file_version = _whole_versions(tmp_path)
    assert file_version == {1} and table_version <= {1, 2}, lines
    # the next run: writes again, and removes what the killed writer left
    from dagster_project.warehouse import Warehouse, output_file

    os.environ["JOURNEYLIFT_HOME"], previous = str(tmp_path), os.environ.get("JOURNEYLIFT_HOME")
    try:
        frame = pd.DataFrame({"version": [3] * ROWS, "row": range(ROWS)})
        Warehouse().write_table("journeylift", "crash_table", frame)
        output_file("crash_table", frame)
    finally:
        os.environ["JOURNEYLIFT_HOME"] = previous or ""
    assert _whole_versions(tmp_path) == ({3}, {3})
    assert not list((tmp_path / "outputs").glob(".crash_table.*"))


def _marts(home: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return {table: con.sql(f"select * from marts.{table} order by all").fetchall()
                for table in ("fct_journey_labels", "fct_journey_sequences_no_funnel")}


def test_dbt_killed_mid_build_then_the_next_build_completes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crash-source")
    pd.DataFrame(EVENTS, columns=list(CONTRACT_TABLES["events"].columns)).to_csv(folder / "events.csv", index=False)
    STORES.to_csv(folder / "dimension_store.csv", index=False)
    select = ["+leakage_audit_no_funnel", "+fct_journey_labels", "quarantine_events"]
    home, *_ = build_folder_source(folder, tmp_path_factory, select)
    uninterrupted = _marts(home)
    scratch = tmp_path_factory.mktemp("crash-dbt")
    command = [dbt_executable(), "build", "--select", *select, "--indirect-selection", "cautious",
               "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
               "--target-path", str(scratch / "target"), "--log-path", str(scratch / "logs")]
    env = {**os.environ, "JOURNEYLIFT_HOME": str(home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    build = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    _kill_on(build, "START sql incremental model intermediate.int_events_sessionized", delay=0)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        leftovers = con.sql("select table_schema, table_name from information_schema.tables "
                            "where table_name like '%__dbt_tmp%' or table_name like '%__dbt_backup%'").fetchall()
    assert leftovers == []
    assert _marts(home) == uninterrupted


def test_training_killed_mid_run_keeps_the_previous_model_and_the_next_run_completes(tmp_path):
    sequences, labels = planted_signal_frames(n_journeys=300, seed=2)
    sequences.to_parquet(tmp_path / "seq.parquet")
    labels.to_parquet(tmp_path / "labels.parquet")
    train = [sys.executable, "-m", "ml.training", "--sequences", str(tmp_path / "seq.parquet"),
             "--labels", str(tmp_path / "labels.parquet"), "--model", "lstm", "--threads", "1", "--out", str(tmp_path / "run")]
    first = subprocess.run([*train, "--epochs", "1"], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    model = tmp_path / "run" / "model.pt"
    before = model.read_bytes()
    long_run = subprocess.Popen([*train, "--epochs", "200"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _kill_on(long_run, "", delay=0)  # killed at its first line: data built, training under way
    assert model.read_bytes() == before
    assert torch.load(model, weights_only=False)["model"] == "lstm"
    again = subprocess.run([*train, "--epochs", "2"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert model.read_bytes() != before and not list(model.parent.glob(".model.*"))


class _FailsHalfwayThroughPickling:
    """Pickles a large payload, then fails: what a kill mid-pickle leaves on disk."""

    def __reduce__(self):
        raise pickle.PicklingError("killed halfway")


def test_a_model_pickle_interrupted_mid_write_leaves_the_previous_one(tmp_path):
    import dagster as dg

    from dagster_project.warehouse import ModelIOManager

    @dg.asset(io_manager_key="models")
    def trained() -> object:
        return {"weights": [1.0] * 100_000, "version": 1}

    manager = ModelIOManager(base_dir=str(tmp_path))
    assert dg.materialize([trained], resources={"models": manager}).success
    (path,) = [p for p in tmp_path.rglob("trained") if p.is_file()]
    before = path.read_bytes()

    @dg.asset(name="trained", io_manager_key="models")
    def trained_again() -> object:
        return [list(range(200_000)), _FailsHalfwayThroughPickling()]  # the list is pickled first

    assert not dg.materialize([trained_again], resources={"models": manager}, raise_on_error=False).success
    assert path.read_bytes() == before and pickle.loads(before)["version"] == 1
    assert not [p for p in tmp_path.rglob("*partial*")]
