"""Scale: the marts from 1M and 10M simulated events through the real dbt project on DuckDB,
against a straightforward pandas groupby that builds the same no_funnel sequences, in the same run.

Per size: simulate in batches of ~1M events (each batch its own seed, its ids prefixed so
they stay unique) straight into raw.events of a throwaway warehouse; `dbt run` of every
model in a child process (the rate: raw events over its wall time, parsing included), then
`dbt test` in another (timed beside it, not in the rate); then the pandas reference in a
third. Each child's wall time, CPU time and peak RSS are its own (wait4), so generation
memory never counts toward them; the peak reported is the larger of dbt run and dbt test.
CPU seconds are printed too: on a shared machine they show the cost that wall time hides.

The pandas reference is generous to pandas: its clock starts with the raw events already
in a data frame and stops at the grouped lists (no load, no write), and it builds one
table where dbt builds them all (quarantine, labels, three sequence variants, the ad
experiment mart). Both must yield the same journeys: every journey's events, stores and
time gaps are compared, not only the counts.

BENCH_EVENTS (comma-separated, default "1000000,10000000") picks the sizes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from dagster_project.settings import DBT_PROJECT_DIR, dbt_vars  # noqa: E402
from measure import ChildRun, bench_line, peak_mib, run_measured  # noqa: E402
from ml.simulate import SimulationConfig, simulate_sessions  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_EVENTS", "1000000,10000000").split(",")]
BATCH_EVENTS = 1_000_000  # events simulated at a time: keeps generation near 0.5 GiB
EVENTS_PER_USER_GUESS = 30.0  # the default simulation's rate; refined after the first batch
RAW_COLUMNS = "event_ts, event_type, event, discovery_feature, store_id, is_sponsored, is_ghost_ad"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- generation
def simulate_raw_tables(warehouse: Path, n_events: int) -> int:
    """Simulate at least n_events events in batches into raw.*; returns the events written."""
    written, batch, events_per_user = 0, 0, EVENTS_PER_USER_GUESS
    with duckdb.connect(str(warehouse)) as con:
        con.execute("set enable_progress_bar = false")
        con.execute("create schema raw")
        while written < n_events:
            wanted = min(BATCH_EVENTS, n_events - written)
            n_users = max(1, int(np.ceil(wanted / events_per_user)))
            sim = simulate_sessions(SimulationConfig(n_users=n_users, seed=batch))
            events_per_user = len(sim.events) / n_users
            tag = f"b{batch:03d}-"  # every batch numbers its users, sessions and events from 1
            con.register("batch_events", sim.events)
            con.register("batch_experiment", sim.ad_experiment)
            ids = f"'{tag}' || event_id as event_id, '{tag}' || user_id as user_id, '{tag}' || session_id as session_id"
            if batch == 0:
                con.execute(f"create table raw.events as select {ids}, {RAW_COLUMNS} from batch_events")
                con.execute(f"create table raw.ad_experiment as select '{tag}' || user_id as user_id, arm from batch_experiment")
                # store ids st0001.. are the same in every batch; the first batch's dimension serves all
                con.register("batch_stores", sim.dimension_store)
                con.execute("create table raw.dimension_store as select * from batch_stores")
            else:
                con.execute(f"insert into raw.events select {ids}, {RAW_COLUMNS} from batch_events")
                con.execute(f"insert into raw.ad_experiment select '{tag}' || user_id, arm from batch_experiment")
            written += len(sim.events)
            batch += 1
            del sim
    return written


# ---------------------------------------------------------------- dbt
def run_dbt(home: Path, command: str) -> ChildRun:
    """`dbt <command>` over the whole project in a child process, on the warehouse under `home`."""
    dbt = Path(sys.executable).parent / "dbt"
    arguments = [
        str(dbt), command, "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        # the repo's dbt/target holds the manifest Dagster loads: this run writes elsewhere
        "--target-path", str(home / "dbt_target"), "--log-path", str(home / "dbt_logs"),
    ]
    return run_measured(arguments, cwd=DBT_PROJECT_DIR, env={**os.environ, "JOURNEYLIFT_HOME": str(home)})


def slowest_dbt_nodes(home: Path, top: int = 6) -> str:
    """The nodes that took longest, from dbt's run_results.json."""
    results = json.loads((home / "dbt_target" / "run_results.json").read_text())["results"]
    slowest = sorted(results, key=lambda r: r["execution_time"], reverse=True)[:top]
    return ", ".join(f"{r['unique_id'].split('.')[-1]} {r['execution_time']:.1f}s" for r in slowest)


# ---------------------------------------------------------------- the pandas reference
def pandas_no_funnel_sequences(events: pd.DataFrame, funnel_type: str, funnel_events: list, conversion_events: list,
                               gap_minutes: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Straightforward pandas: journeys, sort, cut at conversion, drop funnel events, groupby(journey).agg(list).

    Returns (sequences: one row per journey with lists, labels: one row per journey).
    """
    # journeys: the session_id, else the user's session-less events split by the inactivity gap
    session_less = events[events["session_id"].isna()].sort_values(["user_id", "event_ts", "event_id"])
    gap = session_less.groupby("user_id")["event_ts"].diff()
    starts = gap.isna() | (gap > pd.Timedelta(minutes=gap_minutes))
    auto_index = starts.astype("int64").groupby(session_less["user_id"]).cumsum()
    events["journey_id"] = events["session_id"]
    events.loc[session_less.index, "journey_id"] = session_less["user_id"] + "-auto-" + auto_index.astype(str)

    # labels, then the cut: events strictly before the first conversion event
    events = events.sort_values(["journey_id", "event_ts", "event_id"])
    conversion_at = events[events["event"].isin(conversion_events)].groupby("journey_id")["event_ts"].min()
    labels = events.groupby("journey_id").size().rename("n_events").to_frame()
    labels["conversion_at"] = conversion_at
    event_conversion_at = events["journey_id"].map(conversion_at)
    kept = events[event_conversion_at.isna() | (events["event_ts"] < event_conversion_at)]
    kept = kept[~((kept["event_type"] == funnel_type) | kept["event"].isin(funnel_events))]

    kept = kept.assign(
        store_id=kept["store_id"].fillna("NO_STORE"),
        seconds_since_prev=kept.groupby("journey_id")["event_ts"].diff().dt.total_seconds().fillna(0.0),
    )
    sequences = kept.groupby("journey_id", sort=False)[["event", "store_id", "seconds_since_prev"]].agg(list)
    return sequences, labels


def pandas_child(warehouse: str, out_dir: str) -> None:
    """Child process: load raw.events, time the pandas reference alone, write its output."""
    out = Path(out_dir)
    started = time.perf_counter()
    with duckdb.connect(warehouse, read_only=True) as con:
        events = con.sql("select * from raw.events").df()
    load_seconds = time.perf_counter() - started
    project_vars = dbt_vars()
    started, cpu_started = time.perf_counter(), time.process_time()
    sequences, labels = pandas_no_funnel_sequences(
        events, project_vars["funnel_event_type"], project_vars["funnel_events"], project_vars["conversion_events"],
        project_vars["session_gap_minutes"],
    )
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    sequences.reset_index().to_parquet(out / "pandas_sequences.parquet")
    labels.reset_index().to_parquet(out / "pandas_labels.parquet")
    (out / "pandas_timing.json").write_text(
        json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "load_seconds": load_seconds})
    )


def build_with_pandas(warehouse: Path, out_dir: Path) -> tuple[dict, float]:
    """The pandas reference in a child process: (its transform's and load's timing, peak MiB)."""
    child = run_measured([sys.executable, __file__, "--pandas-child", str(warehouse), str(out_dir)])
    return json.loads((out_dir / "pandas_timing.json").read_text()), child.peak_mib


# ---------------------------------------------------------------- the same journeys?
def compare_journeys(warehouse: Path, out_dir: Path) -> dict:
    """Journey counts and every journey's (event, store, gap) lists, dbt's marts against pandas."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(f"""
            with pandas_sequences as (select * from '{out_dir / "pandas_sequences.parquet"}'),
            pandas_labels as (select * from '{out_dir / "pandas_labels.parquet"}'),
            dbt_sequences as (
                select
                    journey_id,
                    list(event order by position) as event,
                    list(store_id order by position) as store_id,
                    list(seconds_since_prev order by position) as seconds_since_prev
                from marts.fct_journey_sequences_no_funnel
                group by journey_id
            ),
            paired as (
                select d.journey_id as dbt_journey, p.journey_id as pandas_journey,
                    d.event = p.event and d.store_id = p.store_id
                        and d.seconds_since_prev = p.seconds_since_prev as same
                from dbt_sequences d full outer join pandas_sequences p on d.journey_id = p.journey_id
            )
            select
                (select count(*) from marts.fct_journey_labels) as dbt_labeled_journeys,
                (select count(*) from pandas_labels) as pandas_labeled_journeys,
                (select count(*) filter (where converted) from marts.fct_journey_labels) as dbt_converted,
                (select count(conversion_at) from pandas_labels) as pandas_converted,
                count(dbt_journey) as dbt_journeys,
                count(pandas_journey) as pandas_journeys,
                (select count(*) from marts.fct_journey_sequences_no_funnel) as dbt_events,
                (select sum(len(event)) from pandas_sequences) as pandas_events,
                count(*) filter (where same) as identical_journeys
            from paired
        """).df().iloc[0].to_dict()


# ---------------------------------------------------------------- one size
def size_label(n_events: int) -> str:
    return f"{n_events // 1_000_000}m" if n_events % 1_000_000 == 0 else str(n_events)


def run_size(n_events: int) -> str:
    with tempfile.TemporaryDirectory(prefix="journeylift-bench-") as tmp:
        home = Path(tmp)
        warehouse = home / "warehouse.duckdb"
        started = time.perf_counter()
        raw_events = simulate_raw_tables(warehouse, n_events)
        log(f"simulated {raw_events:,} raw events in {time.perf_counter() - started:.1f}s "
            f"(generation peak {peak_mib():,.0f} MiB, this process)")

        built = run_dbt(home, "run")  # every model: staging, quarantine, intermediate, all marts
        dbt_rate = raw_events / built.seconds
        log(f"dbt run: {built.seconds:.1f}s wall ({built.cpu_seconds:.1f}s CPU), {dbt_rate:,.0f} events/s, "
            f"peak {built.peak_mib:,.0f} MiB; slowest: {slowest_dbt_nodes(home)}")
        tested = run_dbt(home, "test")  # the data and unit tests `dbt build` would add
        log(f"dbt test: {tested.seconds:.1f}s wall ({tested.cpu_seconds:.1f}s CPU), peak {tested.peak_mib:,.0f} MiB")
        dbt_peak = max(built.peak_mib, tested.peak_mib)

        pandas, pandas_peak = build_with_pandas(warehouse, home)
        pandas_rate = raw_events / pandas["seconds"]
        log(f"pandas: {pandas['seconds']:.1f}s wall ({pandas['cpu_seconds']:.1f}s CPU; after "
            f"{pandas['load_seconds']:.1f}s loading raw.events), {pandas_rate:,.0f} events/s, peak {pandas_peak:,.0f} MiB")

        same = compare_journeys(warehouse, home)
        log("same journeys? " + ", ".join(f"{k}={int(v):,}" for k, v in same.items()))
        if not (same["dbt_journeys"] == same["pandas_journeys"] == same["identical_journeys"]
                and same["dbt_events"] == same["pandas_events"]
                and same["dbt_labeled_journeys"] == same["pandas_labeled_journeys"]
                and same["dbt_converted"] == same["pandas_converted"]):
            raise SystemExit("dbt and pandas built different journeys: the comparison is void")
        log(f"dbt/pandas: {dbt_rate / pandas_rate:.2f}x by wall time, "
            f"{pandas['cpu_seconds'] / built.cpu_seconds:.2f}x by CPU time (dbt run on both cores, pandas on one)")
    return bench_line(f"marts_{size_label(n_events)}_events", "events_per_s", dbt_rate, pandas_rate, dbt_peak)


def main() -> None:
    log(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for n_events in SIZES:
        print(run_size(n_events), flush=True)
    log(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--pandas-child":
        pandas_child(sys.argv[2], sys.argv[3])
    else:
        main()
