"""dbt docs (lineage, every model, source and column described) generated as a step of the graph.

`dbt docs generate --no-compile` once the dbt models are built: the warehouse's catalog
(catalog.json) beside the prepared manifest, in JOURNEYLIFT_HOME/dbt_docs. The docs read
descriptions and lineage, which the prepared manifest holds, so nothing is compiled; the
folder keeps its partial-parse state between runs (the first run starts from the prepared
project's, which dagster-dbt copies in), so the step costs a dbt start-up and one catalog query.
"""

import json
import shutil
import time
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from dagster_project.defs.dbt.project import journeylift_dbt
from dagster_project.settings import Source, journeylift_home
from dagster_project.warehouse import WAREHOUSE_POOL

DBT_DOCS_KEY = dg.AssetKey(["lineage", "dbt_docs"])


def dbt_docs_dir() -> Path:
    path = journeylift_home() / "dbt_docs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def dbt_docs_args(dbt_vars: dict | None = None) -> list[str]:
    """The dbt command the docs asset runs (pure, like dbt_build_args)."""
    args = ["docs", "generate", "--no-compile"]
    return [*args, "--vars", json.dumps(dbt_vars, sort_keys=True)] if dbt_vars else args


def undocumented(manifest: dict, catalog: dict | None = None) -> list[str]:
    """Every model, source and column without a description, by name: the columns declared in
    the .yml files, and with a catalog also those the warehouse holds but no .yml declares.
    A model or source declaring no column at all is named too."""
    models = {unique_id: node for unique_id, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    documented = {**manifest["sources"], **models}
    in_warehouse = {**catalog["nodes"], **catalog["sources"]} if catalog else {}
    missing = []
    for unique_id, node in sorted(documented.items()):
        name = unique_id.split(".", 2)[-1]
        if not node["description"].strip():
            missing.append(f"{name} (no description)")
        if not node["columns"]:
            missing.append(f"{name} (no columns described)")
        described = {c.lower() for c, column in node["columns"].items() if column["description"].strip()}
        held = in_warehouse.get(unique_id, {}).get("columns", {})
        columns = {c.lower() for c in node["columns"]} | {c.lower() for c in held}
        missing += [f"{name}.{column}" for column in sorted(columns - described)]
    return missing


def build_dbt_docs(source: Source, dbt_models: list[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """The docs step for `source` (its dbt vars), after `dbt_models` are built."""

    @dg.asset(key=DBT_DOCS_KEY, group_name="lineage", deps=dbt_models, kinds={"dbt"}, pool=WAREHOUSE_POOL)
    def dbt_docs(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> dg.MaterializeResult:
        """dbt docs for the models just built: lineage from the raw sources to the marts, and every
        model, source and column with its description and the warehouse's column types, in
        JOURNEYLIFT_HOME/dbt_docs (README, "Looking at it": `make docs` serves them on 127.0.0.1)."""
        docs_dir = dbt_docs_dir()
        # --no-compile writes no manifest: the docs site reads the prepared one from beside catalog.json.
        shutil.copyfile(journeylift_dbt.manifest_path, docs_dir / "manifest.json")
        started = time.perf_counter()
        dbt.cli(dbt_docs_args(source.dbt_vars()), target_path=docs_dir).wait()
        seconds = time.perf_counter() - started
        manifest = json.loads((docs_dir / "manifest.json").read_text())
        catalog = json.loads((docs_dir / "catalog.json").read_text())
        missing = undocumented(manifest, catalog)
        if missing:
            context.log.warning(f"{len(missing)} models/columns without a description: {missing}")
        return dg.MaterializeResult(
            metadata={
                "index_html": dg.MetadataValue.path(str(docs_dir / "index.html")),
                "catalog_json": dg.MetadataValue.path(str(docs_dir / "catalog.json")),
                "manifest_json": dg.MetadataValue.path(str(docs_dir / "manifest.json")),
                "relations_in_catalog": len(catalog["nodes"]) + len(catalog["sources"]),
                "undocumented": len(missing),
                "undocumented_names": dg.MetadataValue.json(missing),
                "seconds": round(seconds, 2),
            }
        )

    return dbt_docs
