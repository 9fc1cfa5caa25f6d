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


def _small_run_config(n_users: int = 400) -> dict:
    """Run config for a fast whole-graph run: few users, tiny models, few epochs."""
    model_options = {"lstm": {"hidden_size": 32}, "transformer_cls": {"d_model": 32, "n_heads": 2, "n_layers": 1}}
    from dagster_project.defs.ml.training import ModelInputs
    from dagster_project.settings import Settings

    settings = Settings.from_environment()
    zoo = ModelInputs(settings.model_families, leaky_families=settings.leaky_variant_families)
    ops = {"simulated_sessions": {"config": {"n_users": n_users}}}
    for model, options in model_options.items():
        for variant in ("no_funnel", "with_funnel", "funnel_excluded_only"):
            if model in zoo.families_of(variant):
                ops[f"models__{model}__{variant}"] = {"config": {"epochs": 3, "model_options": options}}
    ops["attributions"] = {"config": {"methods": ["grad_x_input", "integrated_gradients", "attention", "attention_rollout"]}}
    ops["faithfulness"] = {"config": {"max_journeys": 60}}
    ops["journeylift__ad_effects"] = {"config": {"n_boot": 200}}
    ops["journeylift__counterfactual_effects"] = {"config": {"n_boot": 50}}
    return {"ops": ops}


@pytest.fixture
def small_run_config() -> dict:
    return _small_run_config()


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory):
    """The whole `journeylift` job, run once on a small simulation into its own JOURNEYLIFT_HOME,
    as `journeylift run` runs it: a run of the job in the code location, in a persistent instance
    (JOURNEYLIFT_HOME/dagster), so the browser test finds it on the job's page."""
    import dagster as dg

    from dagster_project.cli import launch_run, prepare_instance
    from graph_runs import every_date

    home = tmp_path_factory.mktemp("pipeline-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEYLIFT_HOME", str(home))
        patch.setenv("DAGSTER_HOME", str(home / "dagster"))
        prepare_instance()
        with dg.DagsterInstance.get() as instance:
            result = launch_run(instance, every_date(), _small_run_config())
    return home, result
