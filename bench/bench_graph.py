"""The whole graph at the default scale: `journeylift run` of this checkout against the graph as
it stood before issue 17 (BENCH_GRAPH_BASELINE, default commit 852dc04), run side by side, each in
its own fresh JOURNEYLIFT_HOME on the same machine.

The baseline is checked out as a git worktree (detached, in a temporary folder), its dbt
manifest prepared, and run with the same interpreter and packages. The figure is the Dagster
run's own seconds (launch to end, from the run's record), the time a user waits on the graph;
the command's wall time (with Python start-up and the summary), its CPU seconds and its peak
RSS (the largest single process: the run or a dbt child) are printed beside it. Both runs' steps
are tabled side by side (Dagster's step events). The BENCH ratio is baseline / new seconds:
above 1 is faster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import graph_run, step_table  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
BASELINE = os.environ.get("BENCH_GRAPH_BASELINE", "852dc04")


def baseline_checkout(folder: Path) -> Path:
    """The baseline commit as a detached worktree under `folder`, with its dbt manifest."""
    tree = folder / "baseline"
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", "--quiet", str(tree), BASELINE], check=True)
    env = {**os.environ, "PYTHONPATH": str(tree), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([str(Path(sys.executable).parent / "dagster-dbt"), "project", "prepare-and-package",
                    "--file", "dagster_project/defs/dbt/project.py"], cwd=tree, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return tree


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench_graph_"))  # kept when a run fails: the logs are there
    tree = baseline_checkout(tmp)
    runs = {}
    try:
        for name, repo in ((f"baseline {BASELINE}", tree), ("this checkout", REPO_ROOT)):
            home = tmp / name.split()[0]
            print(f"== {name}: journeylift run (log: {home.with_suffix('.log')})", flush=True)
            runs[name] = run = graph_run(home, repo=repo)
            print(f"{name}: Dagster run {run.run_seconds:.0f} s, command {run.command.seconds:.0f} s "
                  f"({run.command.cpu_seconds:.0f} CPU s), peak {run.command.peak_mib:.0f} MiB", flush=True)
    finally:
        subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    print("\nslowest steps (seconds):")
    print(step_table(dict(reversed(runs.items()))))
    baseline, new = runs.values()
    shutil.rmtree(tmp)
    print(f"BENCH graph_default seconds={new.run_seconds:.0f} baseline={baseline.run_seconds:.0f} "
          f"ratio={baseline.run_seconds / new.run_seconds:.2f} peak_mib={new.command.peak_mib:.0f}")


if __name__ == "__main__":
    main()
