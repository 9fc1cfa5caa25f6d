"""Every dbt model as a Dagster asset (dbt tests become its asset checks), and the one way Python
assets name a dbt model's asset: `dbt_model_key`.

The models' tables are read downstream through the warehouse I/O manager: a Python asset that
takes `dbt_model_key("fct_journey_labels")` as an input gets marts.fct_journey_labels as a frame.
"""

import json
from functools import cache

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets, get_asset_key_for_model

from dagster_project.defs.dbt.project import journeylift_dbt
from dagster_project.defs.dbt.translator import translator
from dagster_project.settings import Source
from dagster_project.warehouse import WAREHOUSE_IO

LABELS_MODEL = "fct_journey_labels"
STORES_MODEL = "dim_stores"


def sequences_model(variant: str) -> str:
    """The sequences mart of a variant (ml.data.VARIANTS)."""
    return f"fct_journey_sequences_{variant}"


def dbt_build_args(dbt_vars: dict | None = None) -> list[str]:
    """The dbt command the assets run (kept pure so tests can read it)."""
    return ["build", "--vars", json.dumps(dbt_vars, sort_keys=True)] if dbt_vars else ["build"]


def build_dbt_models(source: Source) -> dg.AssetsDefinition:
    """The dbt project's assets for `source` (it passes the vars a source needs)."""

    @dbt_assets(
        manifest=journeylift_dbt.manifest_path,
        dagster_dbt_translator=translator,
        io_manager_key=WAREHOUSE_IO,
        name="journeylift_dbt_models",
    )
    def journeylift_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """Staging views, intermediate tables and the marts, built and tested by `dbt build`."""
        yield from dbt.cli(dbt_build_args(source.dbt_vars()), context=context).stream()

    return journeylift_dbt_models


@cache
def dbt_model_key(model_name: str) -> dg.AssetKey:
    """The asset key of dbt model `model_name`, as the translator names it (from the manifest;
    keys do not depend on the source)."""
    return get_asset_key_for_model([build_dbt_models(Source())], model_name)
