"""Shared fixtures: a throwaway JOURNEYLIFT_HOME and a parsed dbt project.

JOURNEYLIFT_HOME is set before any project module is imported, so no test ever
writes under the repo's own `.journeylift/`.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="journeylift-tests-"))
os.environ["JOURNEYLIFT_HOME"] = str(_SESSION_HOME)
os.environ["DAGSTER_HOME"] = str(_SESSION_HOME / "dagster")
os.environ.pop("MLFLOW_TRACKING_URI", None)
(_SESSION_HOME / "dagster").mkdir(parents=True, exist_ok=True)

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_DIR = REPO_ROOT / "dbt"
VENV_BIN = Path(sys.executable).parent


def _manifest_is_stale(manifest: Path) -> bool:
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_DIR / "dbt_project.yml", *[p for d in ("models", "macros", "tests") for p in (DBT_DIR / d).rglob("*") if p.is_file()]]
    return any(p.stat().st_mtime > built for p in sources)


def pytest_configure(config):
    """`dbt parse` before collection when the manifest is missing or older than the project:
    `@dbt_assets` reads the manifest when test modules import the definitions."""
    manifest = DBT_DIR / "target" / "manifest.json"
    if _manifest_is_stale(manifest):
        subprocess.run(
            [str(VENV_BIN / "dbt"), "parse", "--profiles-dir", str(DBT_DIR), "--quiet"],
            cwd=DBT_DIR,
            check=True,
        )


@pytest.fixture
def journeylift_home(tmp_path, monkeypatch) -> Path:
    """A fresh, empty JOURNEYLIFT_HOME for one test."""
    monkeypatch.setenv("JOURNEYLIFT_HOME", str(tmp_path))
    return tmp_path
