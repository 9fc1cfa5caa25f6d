"""`journeylift run`: materialize the whole graph with a persistent Dagster instance, then print
the summary; `journeylift summary`: print it again from the output tables; `journeylift check`:
the leakage suites on any sequences/feature table, exit status 1 on a leak."""

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


def read_table_argument(argument: str):
    """A .parquet/.csv file, or `warehouse:<schema>.<table>` in the journeylift warehouse."""
    import pandas as pd

    from dagster_project.warehouse import Warehouse

    if argument.startswith("warehouse:"):
        return Warehouse().read_table(argument.removeprefix("warehouse:"))
    if argument.endswith(".parquet"):
        return pd.read_parquet(argument)
    if argument.endswith(".csv"):
        frame = pd.read_csv(argument)
        for column in ("event_at", "conversion_at"):
            if column in frame.columns:
                frame[column] = pd.to_datetime(frame[column])
        return frame
    raise SystemExit(f"journeylift check: {argument!r} is neither a .parquet/.csv file nor warehouse:<schema>.<table>")


def check_table(table_argument: str, labels_argument: str | None) -> int:
    """Run the leakage suites on a sequences/feature table; print failures; 1 on any failure."""
    import pandas as pd

    from dagster_project.defs.quality.leakage_guard import guard_parameters
    from expectations import leakage_guard

    frame = read_table_argument(table_argument)
    labels = None
    if labels_argument:
        labels = read_table_argument(labels_argument)
        if "conversion_at" not in frame.columns:
            frame = frame.merge(labels[["journey_id", "conversion_at"]], on="journey_id", how="left")
        labels = labels[["journey_id", "converted"]]
    elif "conversion_at" not in frame.columns:
        frame = frame.assign(conversion_at=pd.NaT)  # the temporal rule needs --labels
    report = leakage_guard(frame, table_argument, guard_parameters(), labels=labels)
    if not labels_argument:
        report.notes.append("temporal check skipped: give --labels with conversion_at per journey")
    for failure in report.failures:
        print(f"FAIL {failure.message}")
    for note in report.notes:
        print(f"note: {note}")
    verdict = "clean" if report.success else f"{len(report.failures)} failed"
    print(f"{table_argument}: {report.n_expectations} expectations on {len(frame):,} rows, {verdict}")
    return 0 if report.success else 1


def main(argv: list[str] | None = None) -> int:
    from dagster_project.summary import print_summary

    parser = argparse.ArgumentParser(prog="journeylift")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the main job end to end, then print the summary")
    commands.add_parser("summary", help="print the summary of the last run")
    check = commands.add_parser("check", help="run the leakage suites on a sequences/feature table")
    check.add_argument("table", help="a .parquet/.csv file or warehouse:<schema>.<table>")
    check.add_argument("--labels", help="the labels (journey_id, converted, conversion_at), same forms")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check_table(args.table, args.labels)
    succeeded = run_job() if args.command == "run" else True
    print_summary(outputs_dir())  # also after a failed run: the guard's findings are in it
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
