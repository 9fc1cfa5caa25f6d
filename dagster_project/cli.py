"""`journeylift run`: materialize the whole graph with a persistent Dagster instance, then print
the summary; `journeylift summary`: print it again from the output tables."""

from __future__ import annotations

import argparse
import os
import sys

from dagster_project.settings import journeylift_home, outputs_dir


def run_job() -> bool:
    import dagster as dg

    from dagster_project.definitions import defs

    home = journeylift_home()
    os.environ.setdefault("DAGSTER_HOME", str(home / "dagster"))
    os.makedirs(os.environ["DAGSTER_HOME"], exist_ok=True)
    job = defs().resolve_job_def("journeylift")
    with dg.DagsterInstance.get() as instance:
        # INFO keeps the progress lines (epochs, counts, rates) and drops Dagster's step-by-step DEBUG events.
        run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
        result = job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)
    if not result.success:
        failed = [event.step_key for event in result.all_events if event.is_step_failure]
        print(f"journeylift: the run failed at {failed}; see `make dev` for the logs.", file=sys.stderr)
    return result.success


def main(argv: list[str] | None = None) -> int:
    from dagster_project.summary import print_summary

    parser = argparse.ArgumentParser(prog="journeylift")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the main job end to end, then print the summary")
    commands.add_parser("summary", help="print the summary of the last run")
    args = parser.parse_args(argv)
    if args.command == "run" and not run_job():
        return 1
    print_summary(outputs_dir())
    return 0


if __name__ == "__main__":
    sys.exit(main())
