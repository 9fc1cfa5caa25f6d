"""Where a run reads and writes: every path derives from JOURNEYLIFT_HOME.

JOURNEYLIFT_HOME defaults to `.journeylift/` in the repo root. dbt receives it
through the environment (its profile builds the DuckDB path from it), so it is
always made absolute here before anything starts dbt.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
OUTPUT_SCHEMA = "journeylift"


def journeylift_home() -> Path:
    home = Path(os.environ.get("JOURNEYLIFT_HOME") or REPO_ROOT / ".journeylift").resolve()
    os.environ["JOURNEYLIFT_HOME"] = str(home)  # dbt's profile reads it
    return home


def warehouse_path() -> Path:
    return journeylift_home() / "warehouse.duckdb"


def outputs_dir() -> Path:
    path = journeylift_home() / "outputs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def mlflow_dir() -> Path:
    path = journeylift_home() / "mlflow"
    path.mkdir(parents=True, exist_ok=True)
    return path


@cache
def dbt_vars() -> dict:
    """The dbt project's vars: the one copy of the funnel and conversion event lists."""
    with open(DBT_PROJECT_DIR / "dbt_project.yml") as f:
        return yaml.safe_load(f)["vars"]


# Fast families trained by default; JOURNEYLIFT_MODELS=all trains every registered family.
DEFAULT_MODEL_FAMILIES = ("lstm", "transformer_cls", "gru4rec", "logreg_counts")


def model_families() -> tuple[str, ...]:
    """The model families the graph trains: JOURNEYLIFT_MODELS (comma-separated names or `all`)."""
    from ml.models import available_models

    wanted = os.environ.get("JOURNEYLIFT_MODELS", "").strip()
    registered = available_models()
    if wanted == "all":
        return tuple(registered)
    names = tuple(n.strip() for n in wanted.split(",") if n.strip()) or DEFAULT_MODEL_FAMILIES
    unknown = [n for n in names if n not in registered]
    if unknown:
        raise ValueError(f"JOURNEYLIFT_MODELS names unknown model families {unknown}; registered: {registered}")
    return tuple(n for n in names if n in registered)
