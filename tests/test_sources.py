"""JOURNEYLIFT_SOURCE: a folder of contract files (Parquet and CSV) runs the raw assets and dbt
through Dagster and yields the very marts the simulator path yields; a source that breaks the
raw contract stops before anything is written, with a message naming table, column and rule."""

from __future__ import annotations

import os
import subprocess

import duckdb
import pandas as pd
import pytest

import dagster as dg
from graph_runs import dbt_models_of, every_date

from dagster_project.defs.dbt.assets import dbt_build_args
from dagster_project.defs.quality.leakage_guard import build_leakage_guard
from dagster_project.defs.raw.contract_source import build_contract_source
from dagster_project.defs.raw.simulators import build_simulated_sessions
from dagster_project.defs.resources import dbt_executable, resource_defs
from dagster_project.partitions import event_dates
from dagster_project.settings import DBT_PROJECT_DIR, Settings, parse_source
from ml.contract import CONTRACT
from ml.simulate import SimulationConfig, simulate_sessions

N_USERS = 150
MARTS = {
    "fct_journey_labels": ["journey_id"],
    "fct_journey_sequences_no_funnel": ["journey_id", "position"],
    "fct_journey_sequences_with_funnel": ["journey_id", "position"],
    "dim_stores": ["store_id"],
    "fct_ad_experiment_journeys": ["journey_id"],
}


def read_marts(home) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return {
            name: con.sql(f"select * from marts.{name}").df().sort_values(keys).reset_index(drop=True)
            for name, keys in MARTS.items()
        }


def count(home, relation: str) -> int:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(f"select count(*) from {relation}").fetchall()[0][0]


@pytest.fixture(scope="module")
def simulation():
    return simulate_sessions(SimulationConfig(n_users=N_USERS, seed=3))


def dbt(home, scratch, *args: str) -> subprocess.CompletedProcess:
    """The dbt CLI on `home`'s warehouse, its artifacts kept out of the repo."""
    env = {**os.environ, "JOURNEYLIFT_HOME": str(home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
               "--target-path", str(scratch / "target"), "--log-path", str(scratch / "logs"), "--threads", "4"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:]
    return result


@pytest.fixture(scope="module")
def simulator_marts(tmp_path_factory):
    """The default path: the simulator's raw asset (through Dagster), then `dbt run`."""
    home = tmp_path_factory.mktemp("simulator-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEYLIFT_HOME", str(home))
        patch.delenv("JOURNEYLIFT_SOURCE", raising=False)
        result = dg.materialize(
            [build_simulated_sessions(event_dates(Settings().first_event_date))],
            resources=resource_defs(),
            tags=every_date(),
            run_config={"ops": {"simulated_sessions": {"config": {"n_users": N_USERS, "seed": 3}}}},
        )
    assert result.success
    dbt(home, tmp_path_factory.mktemp("simulator-dbt"), "run")
    return read_marts(home)


def write_folder(folder, simulation, formats: dict[str, str]):
    """The simulation's contract tables as files, each in the format named for it."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {"events": simulation.events, "dimension_store": simulation.dimension_store,
              "ad_experiment": simulation.ad_experiment}
    for name, frame in tables.items():
        if formats.get(name) == "parquet":
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        elif formats.get(name) == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def materialize_folder(folder, home, with_dbt: bool = True, raise_on_error: bool = True, with_guard: bool = False):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEYLIFT_HOME", str(home))
        patch.setenv("JOURNEYLIFT_SOURCE", str(folder))
        source = parse_source(str(folder))
        assets = [build_contract_source(source)]
        if with_dbt:
            assets.extend(dbt_models_of(source))
        if with_guard:
            assets.append(build_leakage_guard("block"))
        return dg.materialize(assets, resources=resource_defs(), raise_on_error=raise_on_error,
                              tags=every_date() if with_dbt else None)


def test_a_folder_of_contract_files_yields_the_simulator_marts(tmp_path, simulation, simulator_marts):
    # CSV events (all text: dbt parses the timestamps and booleans), Parquet stores and experiment.
    folder = write_folder(tmp_path / "source", simulation,
                          {"events": "csv", "dimension_store": "parquet", "ad_experiment": "parquet"})
    home = tmp_path / "home"
    result = materialize_folder(folder, home, with_guard=True)
    assert result.success
    # The guard at the door: the same blocking GX check runs on the marts built from the user's data.
    (guard,) = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                and e.event_specific_data.check_name == "no_funnel_leakage_guard"]
    assert guard.passed
    assert count(home, "journeylift.leakage_guard") == 1
    raw_events = result.asset_materializations_for_node("contract_source")[0]
    assert raw_events.metadata["rows"].value == len(simulation.events)
    for name, expected in simulator_marts.items():
        pd.testing.assert_frame_equal(read_marts(home)[name], expected, check_dtype=False, obj=name)
    # an open vocabulary and clean data: nothing quarantined, nothing lost
    assert count(home, "staging.quarantine_events") == 0
    assert count(home, "intermediate.int_events_enriched") == len(simulation.events)


def test_a_parquet_folder_without_the_experiment_drops_a_stale_experiment_table(tmp_path, simulation):
    home = tmp_path / "home"
    with_experiment = write_folder(tmp_path / "a", simulation, {t.name: "parquet" for t in CONTRACT})
    assert materialize_folder(with_experiment, home, with_dbt=False).success
    assert count(home, "raw.ad_experiment") == len(simulation.ad_experiment)
    without = write_folder(tmp_path / "b", simulation, {"events": "parquet", "dimension_store": "csv"})
    result = materialize_folder(without, home, with_dbt=False)
    assert result.success
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.sql("select table_name from information_schema.tables where table_schema = 'raw'").fetchall()}
    assert tables == {"events", "dimension_store"}
    experiment = [m for m in result.asset_materializations_for_node("contract_source")
                  if m.asset_key == dg.AssetKey(["raw", "ad_experiment"])][0]
    assert experiment.metadata["present"].value is False


# --- contract faults: the run stops before anything is written -----------------------------------


def failure_message(result) -> str:
    failures = [e for e in result.all_events if e.is_step_failure]
    assert failures, "the run should have failed"
    return failures[0].step_failure_data.error.message


def break_folder(folder, simulation, table: str, change) -> None:
    events = simulation.events.copy()
    stores = simulation.dimension_store.copy()
    frames = {"events": events, "dimension_store": stores}
    frames[table] = change(frames[table])
    suffix = "csv"
    for name, frame in frames.items():
        if frame is not None:
            frame.to_csv(folder / f"{name}.{suffix}", index=False)


@pytest.mark.parametrize(
    ("table", "change", "message"),
    [
        ("dimension_store", lambda f: None, "dimension_store: required table missing (no dimension_store.parquet or dimension_store.csv"),
        ("events", lambda f: f.drop(columns=["event_ts"]), "events.event_ts: required column missing"),
        ("dimension_store", lambda f: f.drop(columns=["is_nv"]), "dimension_store.is_nv: required column missing"),
        ("events", lambda f: f.assign(event_ts="yesterday"),
         "events.event_ts: wrong type, no value is parseable as a timestamp"),
        ("events", lambda f: f.assign(is_sponsored="sometimes"), "events.is_sponsored: wrong type, no value is boolean-like"),
        ("events", lambda f: f.head(0), "events: table is empty (0 rows)"),
    ],
    ids=["missing-table", "missing-column", "missing-store-column", "timestamp-type", "boolean-type", "empty-table"],
)
def test_a_contract_fault_stops_the_run_naming_table_column_and_rule(tmp_path, simulation, table, change, message):
    folder = tmp_path / "source"
    folder.mkdir()
    break_folder(folder, simulation, table, change)
    home = tmp_path / "home"
    result = materialize_folder(folder, home, with_dbt=False, raise_on_error=False)
    assert not result.success
    assert message in failure_message(result)
    # nothing was written: the check runs before the load
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from information_schema.tables where table_schema = 'raw'").fetchall()[0][0] == 0


def test_an_integer_timestamp_column_in_parquet_is_the_wrong_type(tmp_path, simulation):
    folder = tmp_path / "source"
    folder.mkdir()
    events = simulation.events.assign(event_ts=simulation.events["event_ts"].astype("int64"))
    events.to_parquet(folder / "events.parquet", index=False)
    simulation.dimension_store.to_parquet(folder / "dimension_store.parquet", index=False)
    result = materialize_folder(folder, tmp_path / "home", with_dbt=False, raise_on_error=False)
    assert "events.event_ts: wrong type, no value is parseable as a timestamp" in failure_message(result)


# --- warehouse:<schema> ----------------------------------------------------------------------------


def test_a_warehouse_schema_is_validated_in_place_and_handed_to_dbt(tmp_path, simulation):
    source = parse_source("warehouse:landing")
    assert dbt_build_args(source.dbt_vars()) == ["build", "--vars", '{"raw_schema": "landing"}']
    assert dbt_build_args(parse_source("simulator").dbt_vars()) == ["build"]
    home = tmp_path / "home"
    home.mkdir()
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.sql("create schema landing")
        con.register("events_frame", simulation.events)
        con.sql("create table landing.events as select * from events_frame")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEYLIFT_HOME", str(home))
        result = dg.materialize([build_contract_source(source)], resources=resource_defs(), raise_on_error=False)
    assert "dimension_store: required table missing (no such table in schema landing)" in failure_message(result)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.register("stores_frame", simulation.dimension_store)
        con.sql("create table landing.dimension_store as select * from stores_frame")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEYLIFT_HOME", str(home))
        result = dg.materialize([build_contract_source(source)], resources=resource_defs())
    events = result.asset_materializations_for_node("contract_source")[0]
    assert events.metadata["relation"].value == '"landing"."events"'
    assert count(home, "landing.events") == len(simulation.events)
    assert count(home, "information_schema.tables where table_schema = 'raw'") == 0  # validated, not copied


def test_the_source_setting():
    assert parse_source(None).kind == parse_source("simulator").kind == "simulator"
    assert parse_source("warehouse:landing").schema == "landing"
    with pytest.raises(ValueError, match="neither"):
        parse_source("/no/such/folder")
