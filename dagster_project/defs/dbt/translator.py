"""How dbt nodes become Dagster assets: keys and groups follow the model's folder; every dbt test
(an asset check) is described in words, from its generic test's arguments or from the comment a
singular test opens with."""

import re
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


    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return dg.AssetCheckSpec(
            name=spec.name, asset=spec.asset_key, description=test_description(manifest["nodes"][unique_id]),
            additional_deps=spec.additional_deps, blocking=spec.blocking, metadata=spec.metadata,
        )


def test_description(test: Mapping[str, Any]) -> str:
    """What a dbt test asserts, in words: a generic test from its name and arguments, a singular one
    from the `{#- ... -#}` comment it opens with (its one description)."""
    generic = test.get("test_metadata") or {}
    kwargs = generic.get("kwargs") or {}
    column = kwargs.get("column_name") or test.get("column_name")
    name = generic.get("name")
    if name == "not_null":
        return f"dbt test: `{column}` is never null"
    if name == "unique":
        return f"dbt test: `{column}` is unique"
    if name == "accepted_values":
        return f"dbt test: `{column}` takes only the values {', '.join(map(str, kwargs.get('values', [])))}"
    if name == "relationships":
        to = re.sub(r"\{\{\s*|\s*\}\}|ref\(['\"]|['\"]\)", "", str(kwargs.get("to", "")))
        return f"dbt test: every `{column}` has a row in {to} (`{kwargs.get('field')}`)"
    comment = re.match(r"\s*\{#-?(.*?)-?#\}", test.get("raw_code") or "", re.S)
    if comment:
        return "dbt test: " + " ".join(comment.group(1).split())
    return f"dbt test {test['name']}"


translator = JourneyliftDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
