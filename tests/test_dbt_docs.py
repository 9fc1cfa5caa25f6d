"""Lineage: every dbt model, source and column carries a description, and `dbt docs generate`
runs as a step of the graph (the `lineage/dbt_docs` asset, downstream of every dbt model).

The description check reads dbt/target/manifest.json (conftest runs `dbt parse` when it is
stale). The asset's test builds every model empty (`dbt run --empty`) over raw tables of both
domains, optional ones included, materializes the asset with the graph's own dbt resource, and
checks its catalog against the descriptions: a column the warehouse holds that no .yml
describes is named too.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
from graph_runs import dbt_models_of
import duckdb

from dagster_project.defs.dbt.docs import DBT_DOCS_KEY, build_dbt_docs, dbt_docs_args, undocumented
from dagster_project.defs.resources import resource_defs
from dagster_project.settings import Source

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_DIR = REPO_ROOT / "dbt"


def parsed_manifest() -> dict:
    return json.loads((DBT_DIR / "target" / "manifest.json").read_text())


def test_every_model_source_and_column_has_a_description():
    missing = undocumented(parsed_manifest())
    assert not missing, "without a description (describe them in the .yml beside the model or source):\n" + "\n".join(
        missing
    )


def test_a_missing_description_is_named():
    manifest = copy.deepcopy(parsed_manifest())
    labels = manifest["nodes"]["model.journeylift.fct_journey_labels"]
    labels["columns"]["converted"]["description"] = ""
    manifest["nodes"]["model.journeylift.dim_stores"]["description"] = " "
    manifest["sources"]["source.journeylift.raw.dimension_store"]["columns"] = {}
    catalog = {
        "nodes": {"model.journeylift.fct_journey_labels": {"columns": {"CONVERTED": {}, "SURPRISE_COLUMN": {}}}},
        "sources": {},
    }
    assert sorted(undocumented(manifest, catalog)) == [
        "dim_stores (no description)",
        "fct_journey_labels.converted",
        "fct_journey_labels.surprise_column",
        "raw.dimension_store (no columns described)",
    ]


def test_dbt_docs_args():
    assert dbt_docs_args() == ["docs", "generate", "--no-compile"]
    assert dbt_docs_args({"raw_schema": "shop"}) == ["docs", "generate", "--no-compile", "--vars", '{"raw_schema": "shop"}']


def _create_raw_tables(warehouse: Path, manifest: dict) -> None:
    """Every source table of the contract, both domains and the optional ones, as declared."""
    con = duckdb.connect(str(warehouse))
    try:
        for source in manifest["sources"].values():
            con.execute(f"create schema if not exists {source['schema']}")
            columns = ", ".join(f"{name} varchar" for name in source["columns"])
            con.execute(f"create table {source['schema']}.{source['name']} ({columns})")
    finally:
        con.close()


def test_dbt_docs_asset_documents_every_built_model(journeylift_home, tmp_path):
    manifest = parsed_manifest()
    _create_raw_tables(journeylift_home / "warehouse.duckdb", manifest)
    built = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"), "run", "--empty",
            "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
            "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
        ],
        env={**os.environ, "JOURNEYLIFT_HOME": str(journeylift_home)}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:]

    dbt_models = dbt_models_of(Source())
    result = dg.materialize([build_dbt_docs(Source(), dbt_models), *dbt_models], selection=[DBT_DOCS_KEY],
                            resources=resource_defs())
    assert result.success
    [materialization] = result.asset_materializations_for_node(DBT_DOCS_KEY.to_python_identifier())
    metadata = {key: value.value for key, value in materialization.metadata.items()}

    docs_dir = journeylift_home / "dbt_docs"
    assert Path(metadata["index_html"]) == docs_dir / "index.html" and (docs_dir / "index.html").exists()
    assert Path(metadata["manifest_json"]).exists()
    catalog = json.loads(Path(metadata["catalog_json"]).read_text())
    models = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    assert models <= set(catalog["nodes"]), models - set(catalog["nodes"])
    assert set(manifest["sources"]) <= set(catalog["sources"])
    assert metadata["undocumented"] == 0, metadata["undocumented_names"]
