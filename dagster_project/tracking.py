"""MLflow through one small resource: one MLflow run per materialization, tagged with the Dagster run.

The default store is local (SQLite + artifact folder under JOURNEYLIFT_HOME/mlflow),
which also gives a model registry. In production set MLFLOW_TRACKING_URI (and
MLflow's own credential variables); nothing secret lives in the repo.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import dagster as dg
import mlflow

from dagster_project.settings import mlflow_dir

# mlflow.set_tracking_uri also writes MLFLOW_TRACKING_URI into os.environ, so the user's own value
# is read once, here, before `use()` ever sets it: a later run in the same process (another
# JOURNEYLIFT_HOME) must not inherit the previous run's local store.
ENVIRONMENT_TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI")


class MlflowTracking(dg.ConfigurableResource):
    """Where runs go: `tracking_uri` (else MLFLOW_TRACKING_URI, else the local store)."""

    tracking_uri: str | None = None
    experiment: str = "journeylift"

    def resolved_uri(self) -> str:
        return (
            self.tracking_uri
            or ENVIRONMENT_TRACKING_URI
            or f"sqlite:///{mlflow_dir() / 'mlflow.db'}"
        )

    def use(self) -> None:
        """Point the mlflow client (tracking and registry) at this store and experiment."""
        uri = self.resolved_uri()
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        if mlflow.get_experiment_by_name(self.experiment) is None:
            artifacts = None
            if uri.startswith("sqlite:///"):
                artifacts = (mlflow_dir() / "artifacts").as_uri()
            mlflow.create_experiment(self.experiment, artifact_location=artifacts)
        mlflow.set_experiment(self.experiment)

    def log_figures(self, run_ids, paths, artifact_path: str = "figures") -> None:
        """Attach figures to existing MLflow runs (e.g. each model's training run)."""
        client = mlflow.MlflowClient(tracking_uri=self.resolved_uri())
        for run_id in run_ids:
            for path in paths:
                client.log_artifact(run_id, path, artifact_path=artifact_path)

    @contextmanager
    def start_run(self, context: dg.AssetExecutionContext, run_name: str, tags: dict | None = None):
        """An MLflow run for this asset materialization, tagged with the Dagster run and asset."""
        self.use()
        all_tags = {
            "dagster.run_id": context.run_id,
            "dagster.asset_key": context.asset_key.to_user_string(),
            **(tags or {}),
        }
        with mlflow.start_run(run_name=run_name, tags=all_tags) as run:
            yield run
