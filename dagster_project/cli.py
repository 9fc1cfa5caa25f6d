"""`journeylift run`: materialize the whole graph over every event date (or the assets `--select`
names) with a persistent Dagster instance, then print the summary; `journeylift summary`: print it again from the output tables; `journeylift check`:
the leakage suites on any sequences/feature table, exit status 1 on a leak; `journeylift import`:
a public dataset mapped onto the raw contract (ml.importers), ready for JOURNEYLIFT_SOURCE;
`journeylift backfill --start D1 --end D2`: the whole graph for the event dates D1..D2 (both
included), in one run, as the UI's backfill does; `journeylift compare causalmta <folder>`:
the last run's test figures on imported Criteo journeys next to the CausalMTA paper's;
`journeylift bid evaluate --seed S --budget-ratio R --episodes N`: the trained bidding policies
(the graph's `bidding/policies`, or `--train` for ml's full scale) on fresh held-out days."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from dagster_project.settings import OUTPUT_SCHEMA, journeylift_home, output_locations, outputs_dir, warehouse_path


INSTANCE_YAML = Path(__file__).parent / "instance.yaml"  # DAGSTER_HOME/dagster.yaml when absent
LOCK_WAIT_SECONDS = 30
SIZE_OPS = ("simulated_sessions", "simulated_ad_funnel")  # the simulators whose n_users --users sets


def prepare_instance() -> Path:
    """DAGSTER_HOME (default JOURNEYLIFT_HOME/dagster) with journeylift's instance settings (the
    warehouse pool of one slot) unless the user keeps their own dagster.yaml there."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(journeylift_home() / "dagster")))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(INSTANCE_YAML, home / "dagster.yaml")
    return home


def failure_lines(result) -> list[str]:
    """One line per failed step: its key and the innermost error's first line."""
    lines = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error.cause is not None:
                error = error.cause
            message = error.message.strip().splitlines()[0] if error.message.strip() else error.cls_name
            lines.append(f"journeylift: {event.step_key} failed: {message}")
    return lines


def execute_job(tags: dict[str, str], select: str | None = None, users: int | None = None):
    """Run the journeylift job (the assets `select` names, in Dagster's selection syntax; every
    asset by default) in process against the persistent Dagster instance; the result."""
    import dagster as dg

    from dagster_project.definitions import defs
    from dagster_project.defs.schedules import JOB_NAME

    from dagster_project.warehouse import Warehouse

    prepare_instance()
    # A notebook holding the file: one line (WarehouseLocked) and no run; another run's steps let
    # go within seconds, and the pool queues the two runs' steps after that.
    Warehouse().ensure_writable(wait_seconds=LOCK_WAIT_SECONDS)
    definitions = defs()
    job = definitions.resolve_job_def(JOB_NAME)
    asset_selection = None
    if select:
        graph = definitions.resolve_asset_graph()
        asset_selection = sorted(dg.AssetSelection.from_string(select).resolve(graph))
        if not asset_selection:
            raise SystemExit(f"journeylift run: --select {select!r} names no asset")
    # INFO keeps the progress lines (epochs, counts, rates) and drops Dagster's step-by-step DEBUG events.
    run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    if users is not None:
        present = {node.name for node in job.graph.node_defs}
        run_config["ops"] = {op: {"config": {"n_users": users}} for op in SIZE_OPS if op in present}
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, run_config=run_config, tags=tags,
                                        asset_selection=asset_selection, raise_on_error=False)
    if not result.success:
        print("\n".join(failure_lines(result)), file=sys.stderr)
        print("journeylift: see `make dev` for the run's logs", file=sys.stderr)
    return result


def run_job(select: str | None = None, users: int | None = None) -> bool:
    """The whole history: every event date in one run."""
    from dagster_project.partitions import event_dates, every_date_tags
    from dagster_project.settings import Settings

    tags = every_date_tags(event_dates(Settings.from_environment().first_event_date))
    return execute_job(tags, select=select, users=users).success


def backfill(start: str, end: str, select: str | None = None, users: int | None = None) -> int:
    """The whole graph for the event dates start..end (both included) in one run (the partitioned
    assets' backfill policy is a single run: dates in order, one DuckDB writer), as the UI's
    backfill does."""
    from dagster_project.partitions import event_dates, range_tags
    from dagster_project.settings import Settings

    keys = event_dates(Settings.from_environment().first_event_date).get_partition_keys()
    for key in (start, end):
        if key not in keys:
            raise SystemExit(f"journeylift backfill: {key} is not an event-date partition ({keys[0]} to {keys[-1]})")
    if start > end:
        raise SystemExit(f"journeylift backfill: --start {start} is after --end {end}")
    result = execute_job(range_tags(start, end), select=select, users=users)
    if not result.success:
        return 1
    n_dates = keys.index(end) - keys.index(start) + 1
    print(f"journeylift backfill: {start} to {end}, {n_dates} event dates in one run")
    return 0


def read_table_argument(argument: str):
    """A .parquet/.csv file, or `warehouse:<schema>.<table>` in the journeylift warehouse."""
    import pandas as pd

    from dagster_project.warehouse import Warehouse

    if argument.startswith("warehouse:"):
        schema, _, table = argument.removeprefix("warehouse:").partition(".")
        return Warehouse().read_table(schema, table)
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


def import_source(dataset: str, path: str, out: str, **options) -> int:
    """Map a public dataset onto the raw contract (ml.importers); print its import report.
    `options` are the importer's own (criteo: every_nth_journey, split), passed only when given."""
    from ml.importers import import_dataset

    report = import_dataset(dataset, path, out, **{k: v for k, v in options.items() if v is not None})
    print("\n".join(report.lines()))
    print(f"contract files and import_report.csv/json in {out}; run them with JOURNEYLIFT_SOURCE={out} journeylift run")
    return 0


def compare_causalmta(imported: str) -> int:
    """The last run's honest models on CausalMTA's test journeys next to the paper's Table 3
    (ml.evaluation.literature): printed, and written as outputs/causalmta_comparison.csv/png."""
    from pathlib import Path

    import pandas as pd

    from dagster_project.warehouse import Warehouse
    from ml.data import HONEST_VARIANT
    from ml.evaluation import causalmta_comparison
    from ml.importers.criteo import SPLIT_FILE
    from ml.reporting import literature_comparison_figure

    side_file = Path(imported) / SPLIT_FILE
    if not side_file.is_file():
        raise SystemExit(f"journeylift compare: no {SPLIT_FILE} in {imported} (import it with `journeylift import criteo`)")
    predictions = Warehouse().read_table(OUTPUT_SCHEMA, "journey_predictions")
    honest = predictions[(predictions["variant"] == HONEST_VARIANT) & (predictions["split"] == "test")]
    comparison = causalmta_comparison(honest, pd.read_parquet(side_file), source=f"journeylift ({HONEST_VARIANT})")
    csv, png = outputs_dir() / "causalmta_comparison.csv", outputs_dir() / "causalmta_comparison.png"
    comparison.to_csv(csv, index=False)
    figure = literature_comparison_figure(comparison, "Conversion prediction on CausalMTA's Criteo test journeys")
    figure.savefig(png, dpi=120, bbox_inches="tight")  # the legend sits below the axes
    print(comparison.to_markdown(index=False, floatfmt=".4f"))
    print(f"written: {csv} and {png}")
    return 0


def bid_evaluate(seed: int, ratios: list[float] | None, episodes: int, train: bool) -> int:
    """The bidding policies on `episodes` fresh days from `seed`: the summary table, then every row."""
    import pickle

    import dagster as dg
    import pandas as pd

    from ml.bidding.evaluation import best_classical, evaluate, paired_intervals, summary_table
    from ml.bidding.suite import BiddingSuiteConfig, held_out_seeds, train_suite

    prepare_instance()
    with dg.DagsterInstance.get() as instance:
        stored = Path(instance.storage_directory()) / "bidding" / "policies"  # the model I/O manager's file
    if train:
        suite = train_suite(BiddingSuiteConfig(), log=print)
    elif stored.exists():
        suite = pickle.loads(stored.read_bytes())
    else:
        print(f"journeylift bid evaluate: no trained policies at {stored}; run "
              "`journeylift run --select 'group:bidding'` first, or pass --train", file=sys.stderr)
        return 1
    ratios = ratios or list(suite.policies)
    unknown = [r for r in ratios if r not in suite.policies]
    if unknown:
        print(f"journeylift bid evaluate: no policies tuned for budget ratio {unknown}; tuned: {list(suite.policies)}",
              file=sys.stderr)
        return 1
    seeds = held_out_seeds(seed, episodes)
    table = evaluate({r: suite.policies[r] for r in ratios}, suite.predictor, suite.config.auction, seeds)
    reference = best_classical(table, set(suite.classical))
    summary = summary_table(table, paired_intervals(table, reference))
    print(f"{len(seeds)} held-out days (seeds {seeds[0]}..{seeds[-1]}), {suite.config.auction.n_journeys} journeys a day; "
          f"gains are against the best classical bidder here, {reference}, with paired 95% bootstrap intervals")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary.round(3).to_string(index=False))
        print()
        print(table.round(3).to_string(index=False))
    return 0


def run_summary() -> str:
    """The summary of the last run, from the output tables in the warehouse."""
    from dagster_project.warehouse import Warehouse
    from ml.reporting import SUMMARY_TABLES, summary_text

    warehouse = Warehouse()
    tables = {}
    if warehouse_path().exists():
        tables = {name: warehouse.read_table(OUTPUT_SCHEMA, name) for name in SUMMARY_TABLES
                  if warehouse.table_exists(OUTPUT_SCHEMA, name)}
    return summary_text(tables, output_locations())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="journeylift")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the whole graph over every event date, then print the summary")
    commands.add_parser("summary", help="print the summary of the last run")
    check = commands.add_parser("check", help="run the leakage suites on a sequences/feature table")
    check.add_argument("table", help="a .parquet/.csv file or warehouse:<schema>.<table>")
    check.add_argument("--labels", help="the labels (journey_id, converted, conversion_at), same forms")
    from ml.importers import available_importers

    importer = commands.add_parser("import", help="map a public dataset onto the raw contract, as a folder source")
    importer.add_argument("dataset", choices=available_importers())
    importer.add_argument("path", help="the dataset's file or folder, in its own format")
    importer.add_argument("out", help="the folder to write the contract files and import_report.csv/json into")
    importer.add_argument("--every-nth-journey", type=int, help="criteo: only the journeys whose id is a multiple of N")
    importer.add_argument("--split", choices=["causalmta", "by_user"],
                          help="criteo: CausalMTA's train/test split (default) or journeylift's split by user")
    compare = commands.add_parser("compare", help="the last run's test figures next to published ones on the same data")
    compare.add_argument("study", choices=["causalmta"], help="causalmta: Table 3 of Yao et al., KDD 2022 (Criteo)")
    compare.add_argument("imported", help="the folder `journeylift import criteo` wrote (its journey side file)")
    dates = commands.add_parser("backfill", help="run the whole graph for a range of event dates, in one run")
    dates.add_argument("--start", required=True, help="first date, YYYY-MM-DD")
    dates.add_argument("--end", required=True, help="last date (included), YYYY-MM-DD")
    bid = commands.add_parser("bid", help="the bidding policies").add_subparsers(dest="bid_command", required=True)
    bid_evaluation = bid.add_parser("evaluate", help="the trained bidding policies on fresh held-out days")
    bid_evaluation.add_argument("--seed", type=int, default=1, help="first held-out day's seed (default 1)")
    bid_evaluation.add_argument("--budget-ratio", type=float, action="append", dest="budget_ratios",
                                help="budget / spend to win every opportunity of positive value; repeat for several "
                                     "(default: every tuned ratio)")
    bid_evaluation.add_argument("--episodes", type=int, default=10, help="held-out days (default 10)")
    bid_evaluation.add_argument("--train", action="store_true",
                                help="train every policy at ml's full scale first (minutes) instead of the graph's")
    for command in (run, dates):
        command.add_argument("--select", help="only these assets, in Dagster's selection syntax "
                             "(e.g. 'key:\"journeylift/leaderboard\"+' or 'group:training'); default: all")
        command.add_argument("--users", type=int, help="simulated users (the simulator's n_users)")
    args = parser.parse_args(argv)
    if args.command == "backfill":
        return backfill(args.start, args.end, args.select, args.users)
    if args.command == "import":
        return import_source(args.dataset, args.path, args.out,
                             every_nth_journey=args.every_nth_journey, split=args.split)
    if args.command == "compare":
        return compare_causalmta(args.imported)
    if args.command == "bid":
        return bid_evaluate(args.seed, args.budget_ratios, args.episodes, args.train)
    from dagster_project.warehouse import WarehouseLocked

    try:
        if args.command == "check":
            return check_table(args.table, args.labels)
        succeeded = run_job(args.select, args.users) if args.command == "run" else True
        print(run_summary())  # also after a failed run: the guard's findings are in it
    except WarehouseLocked as locked:
        print(f"journeylift {args.command}: {locked}", file=sys.stderr)
        return 1
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
