"""Resources and the executor shared by every asset."""

import shutil
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from dagster_project.defs.dbt.project import journeylift_dbt
from dagster_project.tracking import MlflowTracking
from dagster_project.warehouse import Warehouse


def dbt_executable() -> str:
    """dbt from this interpreter's venv, so a webserver started without activating it still finds dbt."""
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else (shutil.which("dbt") or "dbt")


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "dbt": DbtCliResource(project_dir=journeylift_dbt, dbt_executable=dbt_executable()),
            "warehouse": Warehouse(),
            "mlflow_tracking": MlflowTracking(),
        },
        # One step at a time in one process: 2 cores, and DuckDB allows one writing process.
        executor=dg.in_process_executor,
    )
