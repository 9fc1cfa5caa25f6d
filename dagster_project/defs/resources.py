"""Resources, I/O managers and the executor shared by every asset."""

import shutil
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from dagster_project.defs.dbt.project import journeylift_dbt
from dagster_project.tracking import MlflowTracking
from dagster_project.warehouse import MODEL_IO, WAREHOUSE_IO, ModelIOManager, Warehouse, WarehouseIOManager


def dbt_executable() -> str:
    """dbt from this interpreter's venv, so a webserver started without activating it still finds dbt."""
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else (shutil.which("dbt") or "dbt")


def resource_defs() -> dict[str, object]:
    """Every resource by key (also what tests pass to `dg.materialize`)."""
    warehouse = Warehouse()
    return {
        "dbt": DbtCliResource(project_dir=journeylift_dbt, dbt_executable=dbt_executable()),
        "warehouse": warehouse,
        "mlflow_tracking": MlflowTracking(),
        WAREHOUSE_IO: WarehouseIOManager(warehouse=warehouse),
        # Trained models and their tensors, pickled under the Dagster instance's storage.
        MODEL_IO: ModelIOManager(),
    }


def resources() -> dg.Definitions:
    # One step at a time in one process: 2 cores, and DuckDB allows one writing process.
    return dg.Definitions(resources=resource_defs(), executor=dg.in_process_executor)
