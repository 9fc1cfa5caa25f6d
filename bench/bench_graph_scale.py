"""Ten times the data through the whole graph: `journeylift run --users 50000` (about 1.5M raw
events) against the default scale (5,000 users) as the named baseline, run side by side, each in
its own fresh JOURNEYLIFT_HOME.

The rate is raw events per second of the Dagster run (launch to end, from the run's own
record); a ratio near 1 means the graph scales linearly, below 1 that it scales worse. The
peak is the 10x command's largest single process (wait4's ru_maxrss: the run itself or a dbt
child), the figure that has to fit the machine's memory. The slowest steps of both runs are
printed side by side (Dagster's step events), and what the 10x run wrote under outputs/ with
its sizes (large per-event tables as Parquet, with a CSV sample).

BENCH_USERS (default 50000) and BENCH_BASELINE_USERS (default 5000) set the two scales.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import bench_line, graph_run, step_table  # noqa: E402

USERS = int(os.environ.get("BENCH_USERS", 50_000))
BASELINE_USERS = int(os.environ.get("BENCH_BASELINE_USERS", 5_000))


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="bench_graph_scale_")  # kept when a run fails: its log is there
    runs = {}
    for name, users in ((f"{BASELINE_USERS} users", BASELINE_USERS), (f"{USERS} users", USERS)):
        print(f"== journeylift run --users {users} (log: {Path(tmp) / name.replace(' ', '_')}.log)", flush=True)
        runs[name] = graph_run(Path(tmp) / name.replace(" ", "_"), users=users)
        run = runs[name]
        print(f"{name}: {run.events:,} raw events, Dagster run {run.run_seconds:.0f} s, command "
              f"{run.command.seconds:.0f} s ({run.command.cpu_seconds:.0f} CPU s), peak {run.command.peak_mib:.0f} MiB",
              flush=True)
    outputs = Path(tmp) / f"{USERS}_users" / "outputs"
    print(f"\noutputs/ of the {USERS}-user run:")
    for path in sorted(outputs.iterdir(), key=lambda p: -p.stat().st_size)[:12]:
        print(f"  {path.name:<45} {path.stat().st_size / 2**20:8.1f} MiB")
    print("\nslowest steps (seconds):")
    print(step_table(runs))
    baseline, scaled = runs.values()
    line = bench_line(f"graph_scale_{USERS // BASELINE_USERS}x", "events_per_s", scaled.events / scaled.run_seconds,
                      baseline.events / baseline.run_seconds, scaled.command.peak_mib)
    shutil.rmtree(tmp)
    print(line)


if __name__ == "__main__":
    main()
