"""One training asset per model family x variant; each is one MLflow run."""

import dagster as dg
import mlflow
import mlflow.pytorch
import torch

from dagster_project.marts import HONEST_VARIANT, LABELS, VARIANTS, read_variant, sequences_key
from dagster_project.settings import model_families
from dagster_project.sources import data_params
from dagster_project.tracking import MlflowTracking
from dagster_project.trained import TrainedJourneyModel
from dagster_project.warehouse import Warehouse
from ml.data import build_sequence_data
from ml.evaluation import model_metrics
from ml.models import build_model
from ml.training import TrainConfig, train_model

# Logging the model with explicit requirements skips MLflow's 7 s environment inference.
MLFLOW_PIP_REQUIREMENTS = [f"torch=={torch.__version__.split('+')[0]}"]


class TrainingConfig(dg.Config):
    """Trainer settings (ml.training.TrainConfig) and model size overrides."""

    epochs: int = 8
    patience: int = 2
    batch_size: int = 256
    lr: float = 1e-3
    max_len: int = 64
    seed: int = 0
    model_options: dict[str, int] = {}  # e.g. {"d_model": 48, "n_heads": 2} for tiny runs


def model_key(model_name: str, variant: str) -> dg.AssetKey:
    return dg.AssetKey(["models", f"{model_name}__{variant}"])


def build_training_asset(model_name: str, variant: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=model_key(model_name, variant),
        deps=[sequences_key(variant), LABELS],
        group_name="training",
        kinds={"pytorch", "mlflow"},
        description=(
            f"`{model_name}` trained on the `{variant}` sequences: early stopping on validation AUC, "
            "test AUC and log loss, one MLflow run"
            + (" (the leakage comparison: never promoted)." if variant != HONEST_VARIANT else ".")
        ),
    )
    def train(
        context: dg.AssetExecutionContext, config: TrainingConfig, warehouse: Warehouse,
        mlflow_tracking: MlflowTracking,
    ) -> dg.Output[TrainedJourneyModel]:
        sequences, labels = read_variant(warehouse, variant)
        with warehouse.connect(read_only=True) as con:
            source_params = data_params(con)  # source, sampling, minimum history, quarantine counts
        data = build_sequence_data(sequences, labels, max_len=config.max_len)
        context.log.info(f"{data.n_journeys} journeys, {data.n_events} events; training {model_name} on {variant}")
        train_config = TrainConfig(
            epochs=config.epochs, patience=config.patience, batch_size=config.batch_size,
            lr=config.lr, max_len=config.max_len, seed=config.seed,
        )
        torch.manual_seed(config.seed)
        model = build_model(model_name, data.spec, **config.model_options)
        result = train_model(model, data, train_config, log=context.log.info)
        metrics = model_metrics(result.model, data)
        with mlflow_tracking.start_run(context, run_name=f"{model_name}__{variant}", tags={"model": model_name, "variant": variant}) as run:
            model_uri = _log_run(result, metrics, train_config, config, model_name, variant, data)
            mlflow.log_params(source_params)
        trained = TrainedJourneyModel(
            model_name=model_name, variant=variant, model=result.model, vocabularies=data.vocabularies,
            max_len=config.max_len, metrics=metrics, history=result.history_frame(),
            mlflow_run_id=run.info.run_id, mlflow_model_uri=model_uri, train_seconds=result.train_seconds,
        )
        test = metrics.set_index("split").loc["test"]
        return dg.Output(
            trained,
            metadata={
                "test_auc": float(test["auc"]),
                "test_log_loss": float(test["log_loss"]),
                "best_epoch": result.best_epoch,
                "train_seconds": round(result.train_seconds, 1),
                "journeys": data.n_journeys,
                "mlflow_run_id": run.info.run_id,
                "history": dg.MetadataValue.md(result.history_frame().round(4).to_markdown(index=False)),
            },
        )

    return train


def _log_run(result, metrics, train_config, config, model_name, variant, data) -> str:
    """Params, per-epoch and final metrics, and the model (the leaderboard registers the winner);
    returns the logged model's URI."""
    mlflow.log_params({**train_config.to_dict(), **config.model_options, "model": model_name, "variant": variant,
                       "n_journeys": data.n_journeys, "n_events": data.n_events,
                       "n_parameters": sum(p.numel() for p in result.model.parameters())})
    for row in result.history:
        epoch = int(row["epoch"])
        mlflow.log_metrics({k: float(v) for k, v in row.items() if k != "epoch"}, step=epoch)
    for row in metrics.itertuples():
        mlflow.log_metrics({f"{row.split}_auc": row.auc, f"{row.split}_log_loss": row.log_loss,
                            f"{row.split}_ece": row.ece})
    mlflow.log_metrics({"best_epoch": result.best_epoch, "train_seconds": result.train_seconds})
    return mlflow.pytorch.log_model(
        result.model,
        name="model",
        pip_requirements=MLFLOW_PIP_REQUIREMENTS,
        # Models take a JourneyBatch, not a tensor, so the traced pt2 format does not apply.
        serialization_format="pickle",
    ).model_uri


training_assets = [build_training_asset(m, v) for m in model_families() for v in VARIANTS]
