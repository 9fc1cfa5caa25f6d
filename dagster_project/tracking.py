"""MLflow through one small resource: one MLflow run per materialization, tagged with the Dagster run.

The default store is local (SQLite + artifact folder under JOURNEYLIFT_HOME/mlflow),
which also gives a model registry. In production set MLFLOW_TRACKING_URI (and
MLflow's own credential variables); nothing secret lives in the repo.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types import Schema, TensorSpec

from dagster_project.settings import mlflow_dir, server_url

# mlflow.set_tracking_uri also writes MLFLOW_TRACKING_URI into os.environ, so the user's own value
# is read once, here, before `use()` ever sets it: a later run in the same process (another
# JOURNEYLIFT_HOME) must not inherit the previous run's local store.
ENVIRONMENT_TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI")
REGISTERED_MODEL = "journeylift-conversion"  # the registered model every promoted version joins
REGISTERED_BIDDER = "journeylift-bidder"  # the trained bidding agent (its Q-network), every run's
ENCODING_ARTIFACT = "encoding.json"  # beside each logged model: its vocabularies and max_len


#: The experiment's kind (model development, not GenAI) and what it holds.
EXPERIMENT_TAGS = {
    "mlflow.experimentKind": "custom_model_development",
    "mlflow.note.content": "journeylift: one run per model x variant (params, per-epoch metrics, the model, "
                           "figures); the leaderboard registers the best honest model as "
                           f"`{REGISTERED_MODEL}`, aliases `challenger` and `champion`.",
}


def journey_signature(data) -> ModelSignature:
    """The tensors a model reads (a JourneyBatch: categorical ids, numeric features, the mask) and
    what it returns, for `data`'s feature sizes."""
    return ModelSignature(
        inputs=Schema([
            TensorSpec(np.dtype("int64"), (-1, -1, data.spec.n_categorical), "categorical"),
            TensorSpec(np.dtype("float32"), (-1, -1, data.spec.n_numeric), "numeric"),
            TensorSpec(np.dtype("bool"), (-1, -1), "mask"),
        ]),
        outputs=Schema([TensorSpec(np.dtype("float32"), (-1,), "conversion_logit")]),
    )


def journey_example(data, n: int = 2) -> dict[str, np.ndarray]:
    """The first `n` test journeys of `data` as the signature's tensors."""
    from ml.data.batching import collate_journeys

    test = np.flatnonzero(data.split == "test")[:n]
    batch = collate_journeys(data, test if len(test) else np.arange(min(n, data.n_journeys)))
    return {"categorical": batch.categorical.numpy(), "numeric": batch.numeric.numpy(), "mask": batch.mask.numpy()}


@contextmanager
def quiet_serving_check():
    """Silence MLflow's one warning that the PyTorch flavor cannot serve a dict input example."""
    model_logger = logging.getLogger("mlflow.models.model")
    level = model_logger.level
    model_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        model_logger.setLevel(level)


#: MLflow 3's UI opens on its GenAI pages unless the link (or the browser's last choice) asks
#: for the model-training ones; every link journeylift writes asks.
MODEL_TRAINING_VIEW = "workflowType=machine_learning"


def run_url(experiment_id: str, run_id: str) -> str:
    return f"{server_url('mlflow')}/#/experiments/{experiment_id}/runs/{run_id}?{MODEL_TRAINING_VIEW}"


def experiment_url(experiment_id: str) -> str:
    return f"{server_url('mlflow')}/#/experiments/{experiment_id}?{MODEL_TRAINING_VIEW}"


def model_version_url(version: str, model: str = REGISTERED_MODEL) -> str:
    return f"{server_url('mlflow')}/#/models/{model}/versions/{version}?{MODEL_TRAINING_VIEW}"


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

    def use(self) -> str:
        """Point the mlflow client (tracking and registry) at this store and experiment; its id."""
        uri = self.resolved_uri()
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        if mlflow.get_experiment_by_name(self.experiment) is None:
            artifacts = None
            if uri.startswith("sqlite:///"):
                artifacts = (mlflow_dir() / "artifacts").as_uri()
            mlflow.create_experiment(self.experiment, artifact_location=artifacts, tags=EXPERIMENT_TAGS)
        experiment = mlflow.set_experiment(self.experiment)
        if experiment.tags.get("mlflow.experimentKind") is None:  # created before journeylift tagged it
            for tag, value in EXPERIMENT_TAGS.items():
                mlflow.set_experiment_tag(tag, value)
        return experiment.experiment_id

    def log_figures(self, run_id: str, figures: Mapping[str, Path], artifact_path: str = "figures") -> None:
        """Attach figures to an existing MLflow run (e.g. a model's training run) under stable
        names: the same name in every model's run (`counterfactuals.png`, not one per model), so
        MLflow's Compare lines them up. `figures`: artifact file name -> the PNG on disk."""
        client = mlflow.MlflowClient(tracking_uri=self.resolved_uri())
        with tempfile.TemporaryDirectory() as folder:
            for name, path in figures.items():
                stable = Path(folder) / name
                shutil.copyfile(path, stable)
                client.log_artifact(run_id, str(stable), artifact_path=artifact_path)

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

    def run_url(self, run_id: str) -> str:
        """The MLflow UI's page of run `run_id` (of this experiment)."""
        return run_url(self.use(), run_id)

    def describe_version(self, version: str, description: str, tags: dict[str, str] | None = None) -> None:
        """Say on a registered version why it is there (the promotion rule's reason)."""
        client = self.client()
        client.update_model_version(REGISTERED_MODEL, version, description=description)
        for key, value in (tags or {}).items():
            client.set_model_version_tag(REGISTERED_MODEL, version, key, value)

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
