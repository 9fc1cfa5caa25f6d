"""Every dbt model as a Dagster asset; dbt tests become its asset checks."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.defs.dbt.project import journeylift_dbt
from dagster_project.defs.dbt.translator import translator


def dbt_build_args() -> list[str]:
    """The dbt command the assets run (kept pure so tests can read it)."""
    return ["build"]


@dbt_assets(manifest=journeylift_dbt.manifest_path, dagster_dbt_translator=translator)
def journeylift_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Staging views, intermediate tables and the marts, built and tested by `dbt build`."""
    yield from dbt.cli(dbt_build_args(), context=context).stream()
