"""Shared by the benchmarks: peak memory, child processes measured on their own, the BENCH line."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from dataclasses import dataclass


def peak_mib() -> float:
    """This process's peak resident memory so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class ChildRun:
    seconds: float  # wall
    cpu_seconds: float  # user + system: what the work costs whatever else loads the machine
    peak_mib: float  # the child's own peak RSS (and its waited-for children's), not this process's


def run_measured(command: list[str], **popen_kwargs) -> ChildRun:
    """Run `command` to the end; its wall and CPU time and peak RSS, from wait4 on that one child.

    wait4 gives the child's own rusage, so neither this process's memory nor an earlier
    child's peak (RUSAGE_CHILDREN keeps the largest so far) is counted in.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, **popen_kwargs)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    return ChildRun(seconds=seconds, cpu_seconds=usage.ru_utime + usage.ru_stime, peak_mib=usage.ru_maxrss / 1024)


def bench_line(name: str, unit: str, value: float, baseline: float, peak: float) -> str:
    """The one line `make bench` readers grep: product rate, baseline rate, ratio, peak MiB."""
    return f"BENCH {name} {unit}={value:.0f} baseline={baseline:.0f} ratio={value / baseline:.2f} peak_mib={peak:.0f}"


@dataclass(frozen=True)
class GraphRun:
    """One `journeylift run` in its own JOURNEYLIFT_HOME: the command's wall time and peak RSS
    (wait4: the largest single process, the run or a dbt child), the Dagster run's own seconds and
    each step's seconds from its event log."""

    command: ChildRun
    run_seconds: float
    steps: dict[str, float]
    events: int


def graph_run(home, users: int | None = None, repo=None, select: str | None = None) -> GraphRun:
    """`journeylift run` (the code in `repo`, default this checkout) into a fresh `home`, measured."""
    import sys
    from pathlib import Path

    import dagster as dg
    import duckdb

    home, repo = Path(home), Path(repo or Path(__file__).resolve().parent.parent)
    env = {**os.environ, "JOURNEYLIFT_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
           "PYTHONPATH": str(repo), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [sys.executable, "-m", "dagster_project.cli", "run"]
    command += ["--users", str(users)] if users else []
    command += ["--select", select] if select else []
    with open(home.with_suffix(".log"), "w") as log:
        measured = run_measured(command, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        (run,) = instance.get_runs(limit=1)
        stats = instance.get_run_stats(run.run_id)
        starts, steps = {}, {}
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is not None and event.event_type_value == "STEP_START":
                starts[event.step_key] = record.timestamp
            elif event is not None and event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                steps[event.step_key] = record.timestamp - starts[event.step_key]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        events = con.execute("select count(*) from raw.events").fetchone()[0]
    return GraphRun(command=measured, run_seconds=stats.end_time - stats.launch_time if stats.launch_time
                    else stats.end_time - stats.start_time, steps=steps, events=events)


def step_table(runs: dict[str, GraphRun], top: int = 15) -> str:
    """The slowest steps (by their longest time in any run), one column of seconds per run, as a
    markdown table; a step a run does not have shows 0."""
    import pandas as pd

    frame = pd.DataFrame({name: run.steps for name, run in runs.items()}).fillna(0.0)
    frame = frame.loc[frame.max(axis=1).sort_values(ascending=False).index]
    shown = frame.head(top)
    rest = frame.iloc[top:].sum().rename(f"{len(frame) - top} other steps")
    total = frame.sum().rename("all steps (sum)")
    return pd.concat([shown, rest.to_frame().T, total.to_frame().T]).round(1).to_markdown()
