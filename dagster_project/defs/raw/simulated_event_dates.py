"""The simulator's events of one event-date partition (or a backfill's range) for the daily refresh.

The whole configured simulation is drawn with its fixed seed (deterministic, well under a second
at the default size) and only the partition's dates are kept: raw.events rows of those dates are
deleted and inserted again, so re-running a date changes no row, and the dates loaded so far are
exactly the rows the unpartitioned `simulated_sessions` asset writes for them. Chosen at
definitions load with the simulator source (source_assets.py).
"""

import dagster as dg
import pandas as pd

from dagster_project.defs.raw.simulators import SimulatorConfig
from dagster_project.partitions import DAILY_GROUP, window_dates
from dagster_project.settings import OUTPUT_SCHEMA, RAW_SCHEMA, as_dataclass
from dagster_project.warehouse import Warehouse, output_file
from ml.contract import AD_FUNNEL, domain_tables
from ml.simulate import SimulationConfig, simulate_sessions

SIMULATED_EVENTS_KEY = dg.AssetKey([DAILY_GROUP, "simulated_events"])


def replace_event_dates(warehouse: Warehouse, events: pd.DataFrame, start, end) -> None:
    """raw.events rows with event_ts in [start, end) become `events` (created when absent)."""
    with warehouse.connect() as con:
        con.sql(f"create schema if not exists {RAW_SCHEMA}")
        con.register("events_to_load", events)
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = 'events'"
        ).fetchall()[0][0]
        if exists:
            con.execute("delete from raw.events where event_ts >= ? and event_ts < ?", [start, end])
            con.sql("insert into raw.events by name select * from events_to_load")
        else:
            con.sql("create table raw.events as select * from events_to_load")
        con.unregister("events_to_load")


def simulated_events(context: dg.AssetExecutionContext, config: SimulatorConfig, warehouse: Warehouse):
    """The simulator's events of the partition's dates in raw.events (those dates' rows replaced),
    with the store dimension, the ad experiment and the truth tables of the whole simulation."""
    start, end = window_dates(context.partition_time_window)
    sim = simulate_sessions(as_dataclass(config, SimulationConfig))
    events = sim.events[(sim.events["event_ts"] >= start) & (sim.events["event_ts"] < end)]
    warehouse.drop_tables(RAW_SCHEMA, domain_tables(AD_FUNNEL))  # a stale ad-funnel run's tables
    replace_event_dates(warehouse, events, start, end)
    warehouse.write_table(RAW_SCHEMA, "dimension_store", sim.dimension_store)
    warehouse.write_table(RAW_SCHEMA, "ad_experiment", sim.ad_experiment)
    for name, truth in (("simulator_truth", sim.truth), ("simulator_position_weights", sim.position_weights)):
        warehouse.write_table(OUTPUT_SCHEMA, name, truth)
        output_file(name, truth)
    per_date = events.groupby(events["event_ts"].dt.date).size().rename("events").rename_axis("date").reset_index()
    context.log.info(f"{len(events)} simulated events of {start:%Y-%m-%d} to {end:%Y-%m-%d} (end excluded) loaded")
    return dg.MaterializeResult(
        metadata={
            "dates": f"{start:%Y-%m-%d} to {end:%Y-%m-%d} (end excluded)",
            "rows": len(events),
            "users": int(events["user_id"].nunique()),
            "rows_per_date": dg.MetadataValue.md(per_date.to_markdown(index=False)),
        }
    )


def build_simulated_event_dates(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The partitioned simulator asset (op `daily__simulated_events`); built on demand, like
    `build_simulated_sessions`, so it exists only when the simulator is the source."""
    return dg.asset(
        key=SIMULATED_EVENTS_KEY,
        group_name=DAILY_GROUP,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"duckdb"},
    )(simulated_events)
