"""The daily refresh's dbt step: `dbt build` over one event-date partition, or a backfill's range
in one run, passing its dates as the vars partition_start / partition_end.

The dbt models stay unpartitioned assets of the `journeylift` job (a full build, unchanged);
this partitioned asset runs the same project incrementally (dbt/macros/partition_window.sql) and
records each model it rebuilt as a materialization of that model's asset (each test as that
asset's check), so lineage and "last updated" stay true in the UI. A backfill is one run over
its whole range (BackfillPolicy.single_run): dates in order, one writer for DuckDB.
"""

import dagster as dg
from dagster_dbt import DbtCliResource

from dagster_project.defs.dbt.assets import dbt_build_args
from dagster_project.defs.dbt.project import journeylift_dbt
from dagster_project.defs.dbt.translator import translator
from dagster_project.defs.raw.simulated_event_dates import SIMULATED_EVENTS_KEY
from dagster_project.partitions import DAILY_GROUP, partition_dbt_vars, window_dates
from dagster_project.settings import Source
from dagster_project.warehouse import Warehouse
from ml.contract import SESSIONS

DBT_EVENT_DATES_KEY = dg.AssetKey([DAILY_GROUP, "dbt_models"])


def dbt_partition_args(dbt_vars: dict) -> list[str]:
    """`dbt build` for a partition. dbt's unit tests are left out: they check the models' logic
    on fixed rows (every full build runs them), which partition vars would filter away."""
    return [*dbt_build_args(dbt_vars), "--exclude-resource-type", "unit_test"]


def window_counts(warehouse: Warehouse, start, end) -> dict[str, int]:
    """Accepted and quarantined events and journeys with an event in [start, end), after the build."""
    with warehouse.connect(read_only=True) as con:
        accepted, quarantined = con.execute(
            "select count(*) filter (where quarantine_reason is null), count(*) filter (where quarantine_reason is not null)"
            " from staging.stg_sessions__events_screened where event_at >= ? and event_at < ?",
            [start, end],
        ).fetchall()[0]
        journeys = con.execute(
            "select count(distinct journey_id) from intermediate.int_events_enriched where event_at >= ? and event_at < ?",
            [start, end],
        ).fetchall()[0][0]
    return {"accepted_events": accepted, "quarantined_events": quarantined, "journeys_touching_dates": journeys}


def daily_dbt_deps(source: Source) -> list[dg.AssetKey]:
    """The simulator's dates are loaded first; other sources' raw tables are read in place."""
    return [SIMULATED_EVENTS_KEY] if source.kind == "simulator" and source.domain == SESSIONS else []


def build_daily_dbt(source: Source, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The partitioned dbt step of the daily job for `source`."""

    def dbt_event_dates(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
        """Staging and intermediate rebuilt for the partition's event dates (incremental: the dates'
        rows replaced, journeys crossing midnight re-derived whole), the marts rebuilt, every dbt data
        test run; each model rebuilt and each test result is recorded on its own asset."""
        window = context.partition_time_window
        dbt_vars = {**source.dbt_vars(), **partition_dbt_vars(window.start, window.end)}
        context.log.info(f"dbt build with vars {dbt_vars}")
        invocation = dbt.cli(
            dbt_partition_args(dbt_vars), manifest=journeylift_dbt.manifest_path, dagster_dbt_translator=translator
        )
        models = []
        for event in invocation.stream():  # model materializations and test results, on their own assets
            if isinstance(event, dg.AssetMaterialization):
                models.append(event.asset_key.to_user_string())
            yield event
        start, end = window_dates(window)
        yield dg.MaterializeResult(
            metadata={
                "dates": f"{start:%Y-%m-%d} to {end:%Y-%m-%d} (end excluded)",
                "dbt_vars": dg.MetadataValue.json(dbt_vars),
                "models_built": len(models),
                **window_counts(warehouse, start, end),
            }
        )

    return dg.asset(
        key=DBT_EVENT_DATES_KEY,
        group_name=DAILY_GROUP,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=daily_dbt_deps(source),
        kinds={"dbt", "duckdb"},
    )(dbt_event_dates)
