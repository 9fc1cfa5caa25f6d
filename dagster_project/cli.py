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
import errno
import fcntl
import os
import shutil
import sys
from pathlib import Path

from dagster_project.local_storage import write_local_sqlite_without_fsync
from dagster_project.settings import (
    OUTPUT_SCHEMA,
    SERVER_PORTS,
    data_docs_site,
    journeylift_home,
    mlflow_dir,
    output_locations,
    outputs_dir,
    plain_name,
    server_port,
    server_url,
    warehouse_path,
)


INSTANCE_YAML = Path(__file__).parent / "instance.yaml"  # DAGSTER_HOME/dagster.yaml when absent
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS_MODULE = "dagster_project.definitions"
CODE_LOCATION = "journeylift"  # workspace.yaml's location_name: runs the CLI starts belong to its job
LOCK_WAIT_SECONDS = 30
SIZE_OPS = ("simulated_sessions", "simulated_ad_funnel")  # the simulators whose n_users --users sets


def prepare_instance() -> Path:
    """DAGSTER_HOME (default JOURNEYLIFT_HOME/dagster) with journeylift's instance settings (the
    warehouse pool of one slot) unless the user keeps their own dagster.yaml there; its storage
    and the MLflow store and experiment created."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(journeylift_home() / "dagster")))
    write_local_sqlite_without_fsync()
    home.mkdir(parents=True, exist_ok=True)
    # Two first runs at once would both create the Dagster instance's and MLflow's SQLite tables
    # ("table secondary_indexes already exists", "table secrets already exists"): the first
    # creates them under a file lock, the other waits and finds them made.
    with open(home / ".journeylift-instance.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / "dagster.yaml").exists():
            shutil.copyfile(INSTANCE_YAML, home / "dagster.yaml")
        import dagster as dg

        from dagster_project.tracking import MlflowTracking

        with dg.DagsterInstance.from_config(str(home)):
            pass
        MlflowTracking().use()
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


def launch_run(instance, tags: dict[str, str], run_config: dict, asset_selection=None):
    """Create a run of the journeylift job as the UI does, from the code location `journeylift`
    (the name workspace.yaml gives it), then execute it in this process: the run belongs to the
    job (its Runs tab, the overview timeline, "Re-execute"), its logs stream to this terminal,
    and its tags link to the MLflow experiment and to the MLflow runs it records."""
    from dagster._utils.hosted_user_process import recon_job_from_origin
    from dagster._core.definitions.selector import JobSubsetSelector
    from dagster._core.execution.api import execute_run
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.utils import make_new_run_id
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget

    from dagster_project.defs.schedules import JOB_NAME

    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, module_name=DEFINITIONS_MODULE,
                             working_directory=str(REPO_ROOT)),
        location_name=CODE_LOCATION,
    )
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as process_context:
        location = process_context.create_request_context().get_code_location(CODE_LOCATION)
        (repository,) = location.get_repositories().values()
        remote_job = location.get_job(JobSubsetSelector(
            location_name=CODE_LOCATION, repository_name=repository.name, job_name=JOB_NAME,
            op_selection=None, asset_selection=asset_selection,
        ))
        plan = location.get_execution_plan(remote_job, run_config, step_keys_to_execute=None,
                                           known_state=None, instance=instance)
        run_id = make_new_run_id()
        tags = {name: value.replace("{run_id}", run_id) for name, value in {**tags, **mlflow_tags()}.items()}
        run = instance.create_run(
            job_name=JOB_NAME, run_id=run_id, run_config=run_config, resolved_op_selection=None,
            step_keys_to_execute=plan.execution_plan_snapshot.step_keys_to_execute, status=None,
            op_selection=None, root_run_id=None, parent_run_id=None, tags={**remote_job.tags, **tags},
            job_snapshot=remote_job.job_snapshot, execution_plan_snapshot=plan.execution_plan_snapshot,
            parent_job_snapshot=remote_job.parent_job_snapshot,
            remote_job_origin=remote_job.get_remote_origin(), job_code_origin=remote_job.get_python_origin(),
            asset_selection=frozenset(asset_selection) if asset_selection else None,
            asset_check_selection=None, asset_graph=repository.asset_graph,
        )
    return execute_run(recon_job_from_origin(run.job_code_origin), run, instance)


def mlflow_tags() -> dict[str, str]:
    """The run's links into MLflow: the experiment, and its runs that this Dagster run records
    (each MLflow run carries the tag `dagster.run_id`; `{run_id}` is filled in at launch)."""
    from dagster_project.tracking import MlflowTracking, experiment_url

    experiment = experiment_url(MlflowTracking().use())
    return {"mlflow/experiment": experiment,
            "mlflow/runs": experiment + "&searchFilter=tags.%60dagster.run_id%60%3D%27{run_id}%27"}


def selected_assets(definitions, select: str) -> list:
    """The asset keys `select` names (Dagster's selection syntax), with the rest of every asset
    computed together with one of them (a simulator's or dbt's multi-asset runs whole: `+key:X`
    reaching only some of its keys would fail the job), sorted."""
    import dagster as dg

    graph = definitions.resolve_asset_graph()
    try:
        selection = dg.AssetSelection.from_string(select)
    except Exception as error:  # the selection's own parse error, on one line
        raise SystemExit(f"journeylift run: --select {select!r}: {str(error).strip().splitlines()[0]}") from None
    keys = sorted(selection.required_multi_asset_neighbors().resolve(graph))
    if not keys:
        raise SystemExit(f"journeylift run: --select {select!r} names no asset")
    return keys


def execute_job(tags: dict[str, str], select: str | None = None, users: int | None = None):
    """Run the journeylift job (the assets `select` names, in Dagster's selection syntax; every
    asset by default) in this process against the persistent Dagster instance, as a run of the
    job (see launch_run); the result."""
    import dagster as dg

    from dagster_project.definitions import defs
    from dagster_project.defs.schedules import JOB_NAME
    from dagster_project.warehouse import Warehouse

    # A notebook holding the file: one line (WarehouseLocked) and no run; another run's steps let
    # go within seconds, and the pool queues the two runs' steps after that.
    Warehouse().ensure_writable(wait_seconds=LOCK_WAIT_SECONDS)
    prepare_instance()
    definitions = defs()
    job = definitions.resolve_job_def(JOB_NAME)
    asset_selection = selected_assets(definitions, select) if select else None
    # INFO keeps the progress lines (epochs, counts, rates) and drops Dagster's step-by-step DEBUG events.
    run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    if users is not None:
        present = {node.name for node in job.graph.node_defs}
        run_config["ops"] = {op: {"config": {"n_users": users}} for op in SIZE_OPS if op in present}
    with dg.DagsterInstance.get() as instance:
        result = launch_run(instance, tags, run_config, asset_selection)
    if not result.success:
        print("\n".join(failure_lines(result)), file=sys.stderr)
        print(f"journeylift: see the run's logs in `make dev`: {server_url('dagster')}/runs/{result.run_id}", file=sys.stderr)
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
    """A .parquet/.csv file, or `warehouse:<schema>.<table>` in the journeylift warehouse; a file
    or table that cannot be read is one line (ValueError) naming it."""
    import duckdb
    import pandas as pd

    from dagster_project.warehouse import Warehouse

    if argument.startswith("warehouse:"):
        schema, _, table = argument.removeprefix("warehouse:").partition(".")
        plain_name(schema, "warehouse:<schema>.<table>: the schema")
        plain_name(table, "warehouse:<schema>.<table>: the table")
        if not warehouse_path().exists():
            raise ValueError(f"no warehouse at {warehouse_path()} (JOURNEYLIFT_HOME): run `journeylift run` first, "
                             "or check a file")
        try:
            return Warehouse().read_table(schema, table)
        except duckdb.CatalogException:
            raise ValueError(f"{argument}: no table {schema}.{table} in the warehouse {warehouse_path()}") from None
    readers = {".parquet": ("Parquet", pd.read_parquet), ".csv": ("CSV", pd.read_csv)}
    kind, read = readers.get(Path(argument).suffix, (None, None))
    if read is None:
        raise SystemExit(f"journeylift check: {argument!r} is neither a .parquet/.csv file nor warehouse:<schema>.<table>")
    if not Path(argument).exists():
        raise FileNotFoundError(errno.ENOENT, "no such file", argument)
    try:
        return read(argument)
    except OSError:
        raise  # missing, a folder, no permission: said by the CLI with the path
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{argument} is not a readable {kind} file ({first})") from error


def column_mapping(pairs: list[str] | None) -> dict[str, str]:
    """`--columns old=new[,old=new...]` (the flag may repeat) as {old: new}."""
    mapping = {}
    for pair in ",".join(pairs or []).split(","):
        if not pair.strip():
            continue
        old, sep, new = (part.strip() for part in pair.partition("="))
        if not (sep and old and new):
            raise SystemExit(f"journeylift check: --columns {pair!r} is not old=new (e.g. --columns ts=event_at)")
        mapping[old] = new
    return mapping


def check_table(table_argument: str, labels_argument: str | None, columns: list[str] | None = None,
                strict: bool = False) -> int:
    """Run the leakage suites on a sequences/feature table a user brings (its columns under the
    contract's or the marts' names, or renamed by `columns`); print failures; 1 on any failure."""
    from dagster_project.defs.quality.leakage_guard import guard_parameters
    from expectations import conform_own_table, leakage_guard
    from ml.contract import MART_NAMES

    renames = {**MART_NAMES, **column_mapping(columns)}
    frame = conform_own_table(read_table_argument(table_argument), renames)
    if frame.empty:
        raise ValueError(f"{table_argument} holds no rows: nothing to check")
    labels, notes = None, []
    if labels_argument:
        labels = conform_own_table(read_table_argument(labels_argument), renames)
        if "journey_id" not in labels.columns or "journey_id" not in frame.columns:
            where = labels_argument if "journey_id" not in labels.columns else table_argument
            raise SystemExit(f"journeylift check: {where} has no column journey_id to join the labels on "
                             "(name it with --columns <yours>=journey_id)")
        if "conversion_at" not in frame.columns and "conversion_at" in labels.columns:
            frame = frame.merge(labels[["journey_id", "conversion_at"]], on="journey_id", how="left")
        if "converted" in labels.columns:
            labels = labels[["journey_id", "converted"]]
        else:
            labels, notes = None, [f"{labels_argument} has no column converted"]
    if "conversion_at" not in frame.columns:
        notes.append("temporal check skipped: give --labels with conversion_at (or conversion_ts) per journey")
    report = leakage_guard(frame, table_argument, guard_parameters(), labels=labels, own_table=True, strict=strict)
    for failure in report.failures:
        print(f"FAIL {failure.message}")
    for note in notes + report.notes:
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


def server_commands() -> dict[str, list[str]]:
    """What `journeylift dev` starts, by SERVER_PORTS name; every one bound to 127.0.0.1."""
    bin_dir = Path(sys.executable).parent
    return {
        "dagster": [str(bin_dir / "dagster"), "dev", "-w", str(REPO_ROOT / "workspace.yaml"),
                    "-h", "127.0.0.1", "-p", str(server_port("dagster"))],
        "mlflow": [str(bin_dir / "mlflow"), "ui", "--host", "127.0.0.1", "--port", str(server_port("mlflow")),
                   "--backend-store-uri", f"sqlite:///{mlflow_dir() / 'mlflow.db'}"],
        "data_docs": [sys.executable, "-m", "http.server", str(server_port("data_docs")), "--bind", "127.0.0.1",
                      "--directory", str(data_docs_site())],
    }


def dev() -> int:
    """The Dagster UI, the MLflow UI and GX's Data Docs (readable offline) on 127.0.0.1 until
    Ctrl-C; each server's output goes to JOURNEYLIFT_HOME/logs/<name>.log."""
    import signal
    import subprocess
    import time

    from expectations.data_docs import fetch_vendor, localize, vendor_dir

    prepare_instance()
    mlflow_dir().mkdir(parents=True, exist_ok=True)
    data_docs_site().mkdir(parents=True, exist_ok=True)
    try:
        fetch_vendor(vendor_dir(journeylift_home()))
        localize(data_docs_site(), vendor_dir(journeylift_home()))
    except OSError as error:
        print(f"journeylift dev: Data Docs keep their CDN links (could not fetch their scripts: {error})")
    logs = journeylift_home() / "logs"
    logs.mkdir(exist_ok=True)
    # The venv's tools first: under `dagster dev`, dagster-dbt re-parses the project with `dbt` from PATH.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    servers = {}
    for name, command in server_commands().items():
        log = open(logs / f"{name}.log", "w")  # noqa: SIM115 (open while the server runs)
        # Own session: `dagster dev` ignores SIGINT in the background; its group is stopped on exit.
        servers[name] = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
    for name in SERVER_PORTS:
        print(f"  {name:<10} {server_url(name)}   (log: {logs / f'{name}.log'})")
    print("journeylift dev: Ctrl-C stops them")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while all(server.poll() is None for server in servers.values()):
            time.sleep(1)
        stopped = [name for name, server in servers.items() if server.poll() is not None]
        print(f"journeylift dev: {', '.join(stopped)} stopped; see its log", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for server in servers.values():
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
        for server in servers.values():
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)


def error_line(error: Exception) -> str:
    """A user's mistake (a missing or unreadable file, a wrong format, a bad setting, a locked
    warehouse) in one line that says what is wrong and what to do; anything else asks for --debug."""
    from dagster_project.warehouse import WarehouseLocked

    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, IsADirectoryError):
        return f"{error.filename} is a folder; give a file"
    if isinstance(error, FileNotFoundError):
        return f"no such file or folder: {error.filename}; check the path" if error.filename else f"{first}; check the path"
    if isinstance(error, PermissionError):
        return f"cannot read {error.filename or first}: permission denied; check the file's permissions"
    if isinstance(error, (WarehouseLocked, ValueError)):
        return first
    return f"unexpected {type(error).__name__}: {first} (run again with --debug for the traceback)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="journeylift")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the whole graph over every event date, then print the summary")
    commands.add_parser("summary", help="print the summary of the last run")
    commands.add_parser("dev", help="the Dagster UI, the MLflow UI and GX's Data Docs on 127.0.0.1, until Ctrl-C")
    check = commands.add_parser("check", help="run the leakage suites on a sequences/feature table")
    check.add_argument("table", help="a .parquet/.csv file or warehouse:<schema>.<table>")
    check.add_argument("--labels", help="the labels (journey_id, converted, conversion_at or conversion_ts), same forms")
    check.add_argument("--columns", action="append", metavar="OLD=NEW",
                       help="rename your columns to the marts' names, e.g. --columns ts=event_at,sid=journey_id "
                       "(event_ts and conversion_ts are understood as they are)")
    check.add_argument("--strict", action="store_true",
                       help="fail on a column outside the feature contract or one a rule needs that is missing "
                       "(default: name them and go on)")
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
    for command in commands.choices.values():  # --debug after the command too
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        return run_command(args)
    except SystemExit as refused:
        if not isinstance(refused.code, str):
            raise
        print(refused.code, file=sys.stderr)  # a refusal already worded as one line
        return 1
    except Exception as error:
        if args.debug:
            raise
        print(f"journeylift {args.command}: {error_line(error)}", file=sys.stderr)
        return 1


def run_command(args: argparse.Namespace) -> int:
    """The parsed command, run."""
    if args.command == "dev":
        return dev()
    if args.command == "backfill":
        return backfill(args.start, args.end, args.select, args.users)
    if args.command == "import":
        return import_source(args.dataset, args.path, args.out,
                             every_nth_journey=args.every_nth_journey, split=args.split)
    if args.command == "compare":
        return compare_causalmta(args.imported)
    if args.command == "bid":
        return bid_evaluate(args.seed, args.budget_ratios, args.episodes, args.train)
    if args.command == "check":
        return check_table(args.table, args.labels, args.columns, args.strict)
    succeeded = run_job(args.select, args.users) if args.command == "run" else True
    print(run_summary())  # also after a failed run: the guard's findings are in it
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
