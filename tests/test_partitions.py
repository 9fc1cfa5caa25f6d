"""Daily refresh: event-date partitions through the real Dagster jobs and dbt on DuckDB.

The raw events are a small simulation over four days plus hand-written edge cases (a session-less
journey crossing midnight, a session spanning three dates, an event id sent again two days
later, undated rows), kept in a warehouse schema (`JOURNEYLIFT_SOURCE=warehouse:landing`) so
every date is in place before any partition runs. `journeylift backfill --select` builds the dbt
models of the first three dates in one run, the job's partition the fourth; re-running the third
date must change no row, and the tables must equal one build over every date. The simulator's own
partitioned load and the schedule are checked on their own.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
from datetime import datetime, timezone

import dagster as dg
import duckdb
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dagster_project.cli import main
from dagster_project.definitions import build_definitions
from graph_runs import dbt_models_of, every_date
from dagster_project.defs.dbt.assets import dbt_partition_args
from dagster_project.defs.ml.training import data_params
from dagster_project.defs.quality.quarantine import quarantine_frame
from dagster_project.defs.raw.simulators import build_simulated_sessions
from dagster_project.defs.resources import dbt_executable, resource_defs
from dagster_project.partitions import event_dates, partition_dbt_vars, range_tags
from dagster_project.settings import DBT_PROJECT_DIR, Settings, parse_source
from ml.simulate import SimulationConfig, simulate_sessions

SCHEMA = "landing"
DBT_GROUPS = "group:staging or group:intermediate or group:marts"
DATES = ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04"]
# table -> the key it holds once (None: raw rows, where a copied event id is the point)
TABLES = {
    "staging.stg_sessions__events_screened": None,
    "staging.quarantine_events": None,
    "staging.stg_sessions__events": "event_id",
    "intermediate.int_events_sessionized": "event_id",
    "intermediate.int_events_ranked": "event_id",
    "intermediate.int_events_enriched": "event_id",
    "intermediate.int_journeys_labeled": "journey_id",
    "intermediate.int_users_split": "user_id",
    "marts.fct_journey_labels": "journey_id",
    "marts.fct_journey_sequences_no_funnel": "event_id",
    "marts.fct_journey_sequences_with_funnel": "event_id",
    "marts.fct_journey_sequences_funnel_excluded_only": "event_id",
    "marts.fct_ad_experiment_journeys": "journey_id",
}


def event(event_id, user_id, session_id, event_ts, event="m_card_view", event_type="store_impression"):
    return {"event_id": event_id, "user_id": user_id, "session_id": session_id, "event_ts": event_ts,
            "event_type": event_type, "event": event, "discovery_feature": None, "store_id": None,
            "is_sponsored": "false", "is_ghost_ad": "false"}


EDGE_CASES = [
    # session-less: one journey on 10-01, one from 10-02 23:50 to 10-03 00:10 (20 minutes apart:
    # one journey, converted after midnight), one on 10-04; numbered over the user's history
    event("x1", "u_x", None, "2026-10-01 12:00:00"),
    event("x2", "u_x", None, "2026-10-02 23:50:00"),
    event("x3", "u_x", None, "2026-10-03 00:10:00", "action_place_order", "funnel"),
    event("x4", "u_x", None, "2026-10-04 09:00:00"),
    # an event id sent again two days later, in another session: the later copy is the duplicate
    event("dup", "u_y", "s_y1", "2026-10-01 10:00:00"),
    event("y2", "u_y", "s_y1", "2026-10-01 10:05:00"),
    event("dup", "u_y", "s_y2", "2026-10-03 10:00:00", "core_search", "search"),
    # one session_id over three dates
    event("z1", "u_z", "s_long", "2026-10-01 22:00:00"),
    event("z2", "u_z", "s_long", "2026-10-02 12:00:00"),
    event("z3", "u_z", "s_long", "2026-10-03 08:00:00"),
    # undated: re-screened by every partition, quarantined once
    event("n1", "u_n", "s_n", None),
    event("n2", "u_n", "s_n", "not a time"),
]


def write_landing(home) -> int:
    """Four simulated days and the edge cases as all-text contract tables in schema `landing`."""
    sim = simulate_sessions(SimulationConfig(n_users=250, seed=5, start=DATES[0], days=len(DATES)))
    events = pd.concat(
        [sim.events.astype({"event_ts": str, "is_sponsored": str, "is_ghost_ad": str}), pd.DataFrame(EDGE_CASES)],
        ignore_index=True,
    )
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.sql(f"create schema {SCHEMA}")
        for name, frame in (("events", events), ("dimension_store", sim.dimension_store),
                            ("ad_experiment", sim.ad_experiment)):
            con.register("frame", frame)
            con.sql(f"create table {SCHEMA}.{name} as select * from frame")
            con.unregister("frame")
    return len(events)


def snapshot(home) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return {table: con.sql(f"select * from {table} order by all").df() for table in TABLES}


def query(home, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory):
    """Backfill 10-01..10-03 (CLI, one run), the job's partition 10-04, 10-03 again, then every date."""
    home = tmp_path_factory.mktemp("partitions-home")
    n_raw = write_landing(home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEYLIFT_HOME", str(home))
        patch.setenv("JOURNEYLIFT_SOURCE", f"warehouse:{SCHEMA}")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert main(["backfill", "--start", DATES[0], "--end", DATES[2], "--select", DBT_GROUPS]) == 0
        loaded = build_definitions(Settings(source=parse_source(f"warehouse:{SCHEMA}")))
        job, graph = loaded.resolve_job_def("journeylift"), loaded.resolve_asset_graph()
        dbt_keys = list(dg.AssetSelection.from_string(DBT_GROUPS).resolve(graph))
        instance = dg.DagsterInstance.ephemeral()
        assert job.execute_in_process(partition_key=DATES[3], instance=instance, asset_selection=dbt_keys).success
        after_daily = snapshot(home)
        rerun = job.execute_in_process(partition_key=DATES[2], instance=instance, asset_selection=dbt_keys)
        assert rerun.success
        after_rerun = snapshot(home)
        full = dg.materialize(dbt_models_of(parse_source(f"warehouse:{SCHEMA}")), resources=resource_defs(),
                              tags=every_date())
        assert full.success
        after_full = snapshot(home)
    return {"home": home, "n_raw": n_raw, "printed": printed.getvalue(), "rerun": rerun,
            "after_daily": after_daily, "after_rerun": after_rerun, "after_full": after_full}


def test_the_backfill_builds_its_dates_in_one_run(partitioned):
    assert f"{DATES[0]} to {DATES[2]}, 3 event dates in one run" in partitioned["printed"]
    rerun = partitioned["rerun"]
    # each dbt model is materialized by its own asset: the incremental ones for the run's date,
    # the marts whole; each dbt test is its model's check
    built = {e.materialization.asset_key.to_user_string(): e.materialization.partition
             for e in rerun.get_asset_materialization_events()}
    assert built["staging/stg_sessions__events_screened"] == built["intermediate/int_events_enriched"] == DATES[2]
    assert built["marts/fct_journey_sequences_no_funnel"] is None
    checks = rerun.get_asset_check_evaluations()
    assert checks and all(check.passed for check in checks)
    assert "marts/fct_journey_sequences_no_funnel" in {c.asset_key.to_user_string() for c in checks}


def test_rerunning_a_partition_changes_no_row(partitioned):
    for table, before in partitioned["after_daily"].items():
        assert_frame_equal(partitioned["after_rerun"][table], before, check_exact=True, obj=table)
    for table, key in TABLES.items():
        if key:
            frame = partitioned["after_rerun"][table]
            assert not frame[key].duplicated().any(), f"{table}: duplicate {key}"
    home = partitioned["home"]
    screened = query(home, "select count(*) from staging.stg_sessions__events_screened")[0][0]
    assert screened == partitioned["n_raw"]  # each raw row screened once, the undated ones too


def test_partitions_equal_one_full_build(partitioned):
    # backfill + daily run + re-run, incrementally, give every table a full build gives
    for table, full in partitioned["after_full"].items():
        assert len(full) > 0 or table == "staging.quarantine_events", table
        assert_frame_equal(partitioned["after_rerun"][table], full, check_exact=True, obj=table)


def test_journeys_across_midnight_and_copies_across_dates(partitioned):
    home = partitioned["home"]
    journeys = query(home, "select journey_id, journey_started_at, converted, n_events from "
                           "intermediate.int_journeys_labeled where user_id in ('u_x', 'u_z') order by 1")
    assert journeys == [
        ("s_long", datetime(2026, 10, 1, 22), False, 3),
        ("u_x-auto-1", datetime(2026, 10, 1, 12), False, 1),
        ("u_x-auto-2", datetime(2026, 10, 2, 23, 50), True, 2),
        ("u_x-auto-3", datetime(2026, 10, 4, 9), False, 1),
    ]
    quarantined = query(home, "select event_id, reason from staging.quarantine_events order by 1")
    assert quarantined == [("dup", "duplicate_event_id"), ("n1", "null_event_ts"), ("n2", "unparseable_event_ts")]
    assert query(home, "select event_at from staging.stg_sessions__events where event_id = 'dup'") == [
        (datetime(2026, 10, 1, 10),)
    ]
    # the simulated data crosses midnight too, so the equality above covers it
    crossing = query(home, "select count(*) from (select journey_id from intermediate.int_events_enriched "
                           "group by 1 having count(distinct cast(event_at as date)) > 1)")[0][0]
    assert crossing >= 2


def test_the_training_window_keeps_the_last_days_journeys(partitioned, tmp_path):
    home = partitioned["home"]
    env = {**os.environ, "JOURNEYLIFT_HOME": str(home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt_vars = {"raw_schema": SCHEMA, "training_window_days": 2}
    done = subprocess.run(
        [dbt_executable(), "run", "--select", "fct_journey_sequences_no_funnel", "--vars", json.dumps(dbt_vars),
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    starts = query(home, "select distinct cast(labels.journey_started_at as date) from marts.fct_journey_sequences_no_funnel "
                         "as s join marts.fct_journey_labels as labels using (journey_id) order by 1")
    assert [str(d) for (d,) in starts] == DATES[2:]  # the latest journey starts on 10-04: 10-03 and 10-04
    full = partitioned["after_full"]["marts.fct_journey_sequences_no_funnel"]
    labels = partitioned["after_full"]["marts.fct_journey_labels"]
    recent = labels.loc[labels["journey_started_at"] >= pd.Timestamp(DATES[2]), "journey_id"]
    assert query(home, "select count(*) from marts.fct_journey_sequences_no_funnel")[0][0] == full["journey_id"].isin(recent).sum()
    params = data_params(parse_source(f"warehouse:{SCHEMA}"), quarantine_frame(pd.Series([], dtype=object)))
    assert params["training_window_days"] == "all"  # the project's default, logged to MLflow


def test_the_simulator_loads_a_date_range_and_reloads_a_date_unchanged(tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEYLIFT_HOME", str(tmp_path))
    asset = build_simulated_sessions(event_dates(Settings().first_event_date))
    run_config = {"ops": {"simulated_sessions": {"config": {"n_users": 200}}}}
    loaded = dg.materialize([asset], resources=resource_defs(), run_config=run_config,
                            tags=range_tags(DATES[0], DATES[2]))
    assert loaded.success
    before = query(tmp_path, "select * from raw.events order by all")
    assert dg.materialize([asset], resources=resource_defs(), run_config=run_config,
                          partition_key=DATES[1]).success
    assert query(tmp_path, "select * from raw.events order by all") == before
    simulated = simulate_sessions(SimulationConfig(n_users=200)).events
    expected = simulated[(simulated["event_ts"] >= DATES[0]) & (simulated["event_ts"] < DATES[3])]
    assert len(before) == len(expected) > 0
    assert query(tmp_path, "select count(*) - count(distinct event_id) from raw.events") == [(0,)]


def test_the_schedule_materializes_yesterdays_partition():
    schedule = build_definitions(Settings()).resolve_schedule_def("daily_refresh")
    assert schedule.cron_schedule == "0 3 * * *" and schedule.job_name == "journeylift"
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 10, 5, 3, 0, tzinfo=timezone.utc))
    [request] = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-10-04"


def test_partition_dbt_arguments():
    start, end = datetime(2026, 10, 4, tzinfo=timezone.utc), datetime(2026, 10, 5, tzinfo=timezone.utc)
    dbt_vars = partition_dbt_vars(start, end)
    assert dbt_vars == {"partition_start": "2026-10-04", "partition_end": "2026-10-05"}
    assert dbt_partition_args(dbt_vars) == [
        "build", "--vars", '{"partition_end": "2026-10-05", "partition_start": "2026-10-04"}',
        "--exclude-resource-type", "unit_test",
    ]
