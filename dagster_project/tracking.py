"""MLflow through one small resource: one MLflow run per materialization, tagged with the Dagster run.

The default store is local (SQLite + artifact folder under JOURNEYLIFT_HOME/mlflow),
which also gives a model registry. In production set MLFLOW_TRACKING_URI (and
MLflow's own credential variables); nothing secret lives in the repo.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg
import mlflow
from mlflow.exceptions import MlflowException

from dagster_project.settings import mlflow_dir

# mlflow.set_tracking_uri also writes MLFLOW_TRACKING_URI into os.environ, so the user's own value
# is read once, here, before `use()` ever sets it: a later run in the same process (another
# JOURNEYLIFT_HOME) must not inherit the previous run's local store.
ENVIRONMENT_TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI")
REGISTERED_MODEL = "journeylift-conversion"  # the registered model every promoted version joins
REGISTERED_BIDDER = "journeylift-bidder"  # the trained bidding agent (its Q-network), every run's
ENCODING_ARTIFACT = "encoding.json"  # beside each logged model: its vocabularies and max_len


@dataclass(frozen=True)
class RegisteredVersion:
    """A version of REGISTERED_MODEL loaded to score: its weights and how it reads journeys."""

    version: str
    model_name: str
    run_id: str
    model: object
    encoding: dict


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

    def client(self) -> mlflow.MlflowClient:
        self.use()
        return mlflow.MlflowClient(tracking_uri=self.resolved_uri(), registry_uri=self.resolved_uri())

    def version_of_run(self, run_id: str) -> str | None:
        """The REGISTERED_MODEL version registered from MLflow run `run_id`, if any."""
        versions = self.client().search_model_versions(f"name = '{REGISTERED_MODEL}' and run_id = '{run_id}'")
        return str(max(int(v.version) for v in versions)) if versions else None

    def alias_version(self, alias: str) -> str | None:
        """The version `alias` points at (None when the alias or the model does not exist)."""
        try:
            return str(self.client().get_model_version_by_alias(REGISTERED_MODEL, alias).version)
        except MlflowException:
            return None

    def set_alias(self, alias: str, version: str) -> None:
        self.client().set_registered_model_alias(REGISTERED_MODEL, alias, version)

    def load_version(self, version: str) -> RegisteredVersion:
        """Version `version` of REGISTERED_MODEL with its encoding, ready to score."""
        client = self.client()
        model_version = client.get_model_version(REGISTERED_MODEL, version)
        run = client.get_run(model_version.run_id)
        return RegisteredVersion(
            version=str(version),
            model_name=run.data.tags.get("model", "unknown"),
            run_id=model_version.run_id,
            model=mlflow.pytorch.load_model(f"models:/{REGISTERED_MODEL}/{version}"),
            encoding=mlflow.artifacts.load_dict(f"runs:/{model_version.run_id}/{ENCODING_ARTIFACT}"),
        )
