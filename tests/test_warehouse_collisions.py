"""Runs that share the warehouse: two `journeylift run`s at once queue on the Dagster pool instead
of failing on DuckDB's lock, and a process outside Dagster holding the file gets one line that
names the file, the process and what to do."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dagster_project.cli import main

DBT_GROUPS = "group:raw or group:staging or group:intermediate or group:marts"
JOURNEYLIFT = str(Path(sys.executable).parent / "journeylift")


def step_windows(instance: dg.DagsterInstance, run_id: str) -> list[tuple[float, float]]:
    """(start, end) of every step of a run, from its event log."""
    starts, windows = {}, []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            windows.append((starts[event.step_key], record.timestamp))
    return windows


def test_two_runs_at_once_queue_on_the_pool_and_both_succeed(tmp_path):
    env = {**os.environ, "JOURNEYLIFT_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "dagster")}
    command = [JOURNEYLIFT, "run", "--select", DBT_GROUPS, "--users", "150"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(1)
    second = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outputs = [process.communicate(timeout=600)[0] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    assert "default_limit: 1" in (tmp_path / "dagster" / "dagster.yaml").read_text()
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster")) as instance:
        runs = instance.get_runs()
        assert len(runs) == 2 and all(run.is_success for run in runs)
        a, b = (step_windows(instance, run.run_id) for run in runs)
    # every step is in the warehouse pool of one slot: no step of one run overlaps one of the other
    assert a and b
    assert not [(x, y) for x in a for y in b if x[0] < y[1] and y[0] < x[1]]


@pytest.fixture
def held_warehouse(tmp_path, monkeypatch):
    """The warehouse file held open for writing by another process (a notebook, say)."""
    monkeypatch.setenv("JOURNEYLIFT_HOME", str(tmp_path))
    monkeypatch.setattr("dagster_project.cli.LOCK_WAIT_SECONDS", 1)
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}); "
                               "print('held', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    yield path, holder.pid
    holder.kill()
    holder.wait()


@pytest.mark.parametrize("command", [["run"], ["summary"], ["check", "warehouse:marts.fct_journey_labels"]])
def test_a_warehouse_held_outside_dagster_is_one_line(held_warehouse, command, capsys):
    path, pid = held_warehouse
    assert main(command) == 1
    printed = capsys.readouterr()
    lines = [line for line in printed.err.splitlines() if line.strip()]
    assert lines == [f"journeylift {command[0]}: the warehouse {path} is locked by process {pid} "
                     f"({lines[0].split('(', 1)[1].split(')')[0]}): close that connection (a notebook's "
                     "duckdb.connect, a DuckDB shell) or wait for it to finish, then run again"]
    assert "Traceback" not in printed.out + printed.err
