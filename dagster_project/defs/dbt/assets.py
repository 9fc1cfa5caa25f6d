"""Every dbt model as a Dagster asset; dbt tests become its asset checks."""

import json

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.defs.dbt.project import journeylift_dbt
from dagster_project.defs.dbt.translator import translator
from dagster_project.sources import Source, journeylift_source


def dbt_source_vars(source: Source) -> dict[str, str]:
    """dbt vars a source needs: `raw_schema` for warehouse:<schema> (the simulator and a folder
    load into `raw`, the project's default)."""
    return {"raw_schema": source.schema} if source.kind == "warehouse" else {}


def dbt_build_args(dbt_vars: dict | None = None) -> list[str]:
    """The dbt command the assets run (kept pure so tests can read it)."""
    return ["build", "--vars", json.dumps(dbt_vars, sort_keys=True)] if dbt_vars else ["build"]


@dbt_assets(manifest=journeylift_dbt.manifest_path, dagster_dbt_translator=translator)
def journeylift_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Staging views, intermediate tables and the marts, built and tested by `dbt build`."""
    yield from dbt.cli(dbt_build_args(dbt_source_vars(journeylift_source())), context=context).stream()
