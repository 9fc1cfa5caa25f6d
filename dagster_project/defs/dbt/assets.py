"""Every dbt model as a Dagster asset (dbt tests become its asset checks), in two sets, and the one
way Python assets name a dbt model's asset: `dbt_model_key`.

- `dbt_event_dates`: the incremental models and the views they read (`event_date_models`),
  partitioned by event date: a run passes its dates to dbt (dagster_project/partitions.py), a
  backfill passes its whole range in one run (BackfillPolicy.single_run: one DuckDB writer,
  dates in order).
- `dbt_models`: the rest (the marts, the quarantine view, the dimensions), unpartitioned: built
  whole over every date on top of the incremental models.

The models' tables are read downstream through the warehouse I/O manager: a Python asset that
takes `dbt_model_key("fct_journey_labels")` as an input gets marts.fct_journey_labels as a frame.
"""

import json
from functools import cache

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets, get_asset_key_for_model

from dagster_project.defs.dbt.project import journeylift_dbt
from dagster_project.defs.dbt.translator import translator
from dagster_project.partitions import event_dates, run_dbt_vars
from dagster_project.settings import Settings, Source
from dagster_project.warehouse import WAREHOUSE_IO, WAREHOUSE_POOL, Warehouse

LABELS_MODEL = "fct_journey_labels"
STORES_MODEL = "dim_stores"
# Every singular test (dbt/tests) also reads a model of the other set: they run with the marts.
SINGULAR_TESTS_WITH_THE_MARTS = ["--exclude", "test_type:singular"]


def event_date_models(manifest: dict) -> set[str]:
    """The incremental models and every model they read (views that cost nothing to rebuild, and
    int_users_split, which sits between two of them), so the two sets never interleave."""
    models = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    chosen, stack = set(), [uid for uid, node in models.items() if node["config"]["materialized"] == "incremental"]
    while stack:
        uid = stack.pop()
        if uid in models and uid not in chosen:
            chosen.add(uid)
            stack.extend(models[uid]["depends_on"]["nodes"])
    return chosen


@cache
def model_selection(partitioned: bool) -> str:
    """The dbt selection of one set, by name. Both sets are named, never excluded: dbt drops a test
    from a run when any model it reads is excluded, and the singular tests read both sets."""
    manifest = json.loads(journeylift_dbt.manifest_path.read_text())
    chosen = event_date_models(manifest)
    names = [node["name"] for uid, node in manifest["nodes"].items()
             if node["resource_type"] == "model" and (uid in chosen) == partitioned]
    return " ".join(sorted(names))


def sequences_model(variant: str) -> str:
    """The sequences mart of a variant (ml.data.VARIANTS)."""
    return f"fct_journey_sequences_{variant}"


def dbt_build_args(dbt_vars: dict | None = None) -> list[str]:
    """The dbt command the assets run (kept pure so tests can read it)."""
    return ["build", "--vars", json.dumps(dbt_vars, sort_keys=True)] if dbt_vars else ["build"]


def dbt_partition_args(dbt_vars: dict) -> list[str]:
    """`dbt build` for some dates. dbt's unit tests are left out: they check the models' logic on
    fixed rows (every full build runs them), which partition vars would filter away."""
    return [*dbt_build_args(dbt_vars), "--exclude-resource-type", "unit_test"]


def with_table_facts(context: dg.AssetExecutionContext, events_in, warehouse: Warehouse):
    """dbt's events, each model's materialization with its row count and relation (and the
    warehouse's column types where the model's yml declares no columns), read once dbt has let
    go of the file (dbt-duckdb holds it for the whole build)."""
    events, failure = list(), None
    try:
        events.extend(events_in)
    except Exception as error:  # a failed model or test: report what was built, then fail
        failure = error
    keys = {e.output_name: context.asset_key_for_output(e.output_name) for e in events if isinstance(e, dg.Output)}
    facts = warehouse.relation_facts({tuple(key.path) for key in keys.values()})
    for event in events:
        fact = facts.get(tuple(keys[event.output_name].path)) if isinstance(event, dg.Output) else None
        if fact is None:
            yield event
            continue
        rows, columns = fact
        metadata = {"dagster/row_count": rows, "dagster/table_name": ".".join(keys[event.output_name].path)}
        if "dagster/column_schema" not in event.metadata:
            metadata["dagster/column_schema"] = dg.TableSchema(columns=[dg.TableColumn(c, t) for c, t in columns])
        yield event.with_metadata({**event.metadata, **metadata})
    if failure is not None:
        raise failure


def build_dbt_models(source: Source, partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The dbt project's two asset sets for `source` (it passes the vars a source needs)."""

    def run_args(context: dg.AssetExecutionContext, warehouse: Warehouse) -> list[str]:
        """`dbt build` with the source's vars and the run's dates (none over every date), once the
        warehouse is free."""
        partition_vars = run_dbt_vars(context.run.tags, partitions_def)
        dates = f"{partition_vars['partition_start']} to {partition_vars['partition_end']} (end excluded)" \
            if partition_vars else "every date (a full build)"
        context.log.info(f"dbt for event dates {dates}")
        warehouse.ensure_writable()
        dbt_vars = {**source.dbt_vars(), **partition_vars}
        return dbt_partition_args(dbt_vars) if partition_vars else dbt_build_args(dbt_vars)

    @dbt_assets(
        manifest=journeylift_dbt.manifest_path,
        select=model_selection(partitioned=True),
        dagster_dbt_translator=translator,
        io_manager_key=WAREHOUSE_IO,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        name="dbt_event_dates",
    )
    def dbt_event_dates(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
        """The screened events and the journeys built from them for the run's event dates
        (incremental: those dates' rows replaced, journeys crossing midnight re-derived whole);
        every date at once when the run covers them all."""
        build = dbt.cli([*run_args(context, warehouse), *SINGULAR_TESTS_WITH_THE_MARTS], context=context)
        yield from with_table_facts(context, build.stream(), warehouse)

    @dbt_assets(
        manifest=journeylift_dbt.manifest_path,
        select=model_selection(partitioned=False),
        dagster_dbt_translator=translator,
        io_manager_key=WAREHOUSE_IO,
        pool=WAREHOUSE_POOL,
        name="dbt_models",
    )
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
        """The marts (journey labels, the sequences of each variant, the ad experiment's journeys),
        the quarantine view and the store dimension, built whole and tested by `dbt build` (on a
        run of some dates, the tests that reconcile the screen check those dates)."""
        yield from with_table_facts(context, dbt.cli(run_args(context, warehouse), context=context).stream(), warehouse)

    return [dbt_event_dates, dbt_models]


def unwritten_sources(written: set[dg.AssetKey]) -> list[dg.AssetsDefinition]:
    """The dbt sources no asset of this run's source writes (the other domain's raw tables),
    declared in the raw group with dbt's own descriptions and columns instead of being left as
    nameless external assets: the models that read them show their edges."""
    manifest = json.loads(journeylift_dbt.manifest_path.read_text())
    specs = []
    for source in manifest["sources"].values():
        key = translator.get_asset_key(source)
        if key in written:
            continue
        columns = [dg.TableColumn(name, column.get("data_type") or "", description=column.get("description") or None)
                   for name, column in source.get("columns", {}).items()]
        specs.append(dg.AssetSpec(
            key, group_name="raw", kinds={"duckdb"},
            description=f"{(source.get('description') or '').strip()} Not written by this run's source "
                        "(JOURNEYLIFT_SOURCE): a raw table of the other domain, which its simulator or a folder source writes.",
            metadata={"dagster/column_schema": dg.TableSchema(columns=columns)} if columns else None,
        ))
    return [dg.AssetsDefinition(specs=[spec]) for spec in specs]


@cache
def dbt_model_key(model_name: str) -> dg.AssetKey:
    """The asset key of dbt model `model_name`, as the translator names it (from the manifest;
    keys do not depend on the source or the dates)."""
    for models in build_dbt_models(Source(), event_dates(Settings().first_event_date)):
        try:
            return get_asset_key_for_model([models], model_name)
        except KeyError:
            continue
    raise KeyError(f"no dbt model named {model_name}")
