"""How dbt nodes become Dagster assets: keys and groups follow the model's folder."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings


def model_layer(dbt_resource_props: Mapping[str, Any]) -> str | None:
    """`staging`, `intermediate` or `marts` for a model (the folder under models/), else None."""
    if dbt_resource_props["resource_type"] != "model":
        return None
    fqn = dbt_resource_props["fqn"]
    return fqn[1] if len(fqn) > 2 else None


class JourneyliftDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # Both domains' sources (raw, raw_ad_funnel) are raw contract tables: ["raw", table],
            # the keys the raw assets produce.
            return dg.AssetKey(["raw", dbt_resource_props["name"]])
        layer = model_layer(dbt_resource_props)
        if layer is None:
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return model_layer(dbt_resource_props) or super().get_group_name(dbt_resource_props)


translator = JourneyliftDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
