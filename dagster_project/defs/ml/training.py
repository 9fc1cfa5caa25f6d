"""Training: each variant's journeys as tensors once, then one model per family x variant, each
one MLflow run. `ModelInputs` is how every downstream asset takes the trained models (and their
tensors, and the marts they came from) as inputs."""

from dataclasses import dataclass

import dagster as dg
import mlflow
import mlflow.pytorch
import pandas as pd
import torch

from dagster_project.defs.dbt.assets import LABELS_MODEL, dbt_model_key, sequences_model
from dagster_project.settings import OUTPUT_SCHEMA, Source, as_dataclass, config_from_dataclass, dbt_vars
from dagster_project.tracking import (
    ENCODING_ARTIFACT,
    MlflowTracking,
    journey_example,
    journey_signature,
    quiet_serving_check,
)
from dagster_project.warehouse import MODEL_IO, WAREHOUSE_POOL
from ml.data import DEFAULT_MAX_LEN, HONEST_VARIANT, VARIANTS, SequenceData, build_sequence_data
from ml.evaluation import encoding_dict, model_metrics
from ml.models import build_model
from ml.training import TrainConfig, TrainedModel, train_model

# Logging the model with explicit requirements skips MLflow's 7 s environment inference.
MLFLOW_PIP_REQUIREMENTS = [f"torch=={torch.__version__.split('+')[0]}"]
QUARANTINE_COUNTS = dg.AssetKey([OUTPUT_SCHEMA, "quarantine_counts"])


class TensorsConfig(dg.Config):
    """How many of a journey's last events the models read."""

    max_len: int = DEFAULT_MAX_LEN


class TrainingConfig(config_from_dataclass(TrainConfig, exclude=("max_len",), name="TrainConfigFields")):
    """ml.training.TrainConfig's fields and defaults (max_len belongs to the tensors), and model
    size overrides, e.g. {"d_model": 48, "n_heads": 2} for tiny runs."""

    model_options: dict[str, int] = {}


def tensors_key(variant: str) -> dg.AssetKey:
    return dg.AssetKey(["tensors", variant])


def model_key(model_name: str, variant: str) -> dg.AssetKey:
    return dg.AssetKey(["models", f"{model_name}__{variant}"])


def data_params(source: Source, quarantine_counts: pd.DataFrame) -> dict[str, str | int]:
    """What every training run logs about its data: the source, the training sample, minimum
    history and window (dbt vars), the quarantine counts per reason and the events re-attached to
    their session."""
    quarantined = quarantine_counts[quarantine_counts["status"] == "quarantined"]
    repaired = quarantine_counts[quarantine_counts["status"] == "repaired"]
    return {
        "source": source.describe(),
        "sample_users_pct": int(dbt_vars()["sample_users_pct"]),
        "min_journey_events": int(dbt_vars()["min_journey_events"]),
        "training_window_days": int(dbt_vars().get("training_window_days") or 0) or "all",
        "quarantined_events": int(quarantined["n_events"].sum()),
        "reattached_events": int(repaired["n_events"].sum()),
        **{f"quarantined__{r.reason}": int(r.n_events) for r in quarantined.sort_values("reason").itertuples()},
    }


def training_group(variant: str) -> str:
    """`training` for the honest variant; the leaky variants' tensors and models sit in their own
    group, `leakage_comparison`, so the lineage of what can be promoted reads on one screen."""
    return "training" if variant == HONEST_VARIANT else "leakage_comparison"


def build_tensors_asset(variant: str) -> dg.AssetsDefinition:
    @dg.asset(
        pool=WAREHOUSE_POOL,
        key=tensors_key(variant),
        ins={
            "sequences": dg.AssetIn(dbt_model_key(sequences_model(variant))),
            "labels": dg.AssetIn(dbt_model_key(LABELS_MODEL)),
        },
        io_manager_key=MODEL_IO,
        group_name=training_group(variant),
        kinds={"pytorch"},
        description=f"The `{variant}` journeys as tensors (vocabularies fitted on the train split): what every "
        f"model of this variant trains on, and what its predictions, attributions and counterfactuals read.",
    )
    def tensors(
        context: dg.AssetExecutionContext, config: TensorsConfig, sequences: pd.DataFrame, labels: pd.DataFrame
    ) -> dg.Output[SequenceData]:
        data = build_sequence_data(sequences, labels, max_len=config.max_len)
        per_split = pd.Series(data.split).value_counts()
        context.log.info(f"{variant}: {data.n_journeys} journeys, {data.n_events} events")
        return dg.Output(data, metadata={
            "journeys": data.n_journeys,
            "events": data.n_events,
            **{f"{split}_journeys": int(per_split.get(split, 0)) for split in ("train", "validation", "test")},
            "vocabulary_sizes": dg.MetadataValue.json({n: len(v) for n, v in data.vocabularies.items()}),
        })

    return tensors


def build_training_asset(model_name: str, variant: str, source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        pool=WAREHOUSE_POOL,
        key=model_key(model_name, variant),
        ins={"data": dg.AssetIn(tensors_key(variant)), "quarantine_counts": dg.AssetIn(QUARANTINE_COUNTS)},
        io_manager_key=MODEL_IO,
        group_name=training_group(variant),
        kinds={"pytorch", "mlflow"},
        description=(
            f"`{model_name}` trained on the `{variant}` sequences: early stopping on validation AUC, "
            "test AUC and log loss, one MLflow run"
            + (" (the leakage comparison: never promoted)." if variant != HONEST_VARIANT else ".")
        ),
    )
    def train(
        context: dg.AssetExecutionContext, config: TrainingConfig, mlflow_tracking: MlflowTracking,
        data: SequenceData, quarantine_counts: pd.DataFrame,
    ) -> dg.Output[TrainedModel]:
        context.log.info(f"{data.n_journeys} journeys, {data.n_events} events; training {model_name} on {variant}")
        train_config = as_dataclass(config, TrainConfig, max_len=data.max_len)
        torch.manual_seed(config.seed)
        model = build_model(model_name, data.spec, **config.model_options)
        tags = {"model": model_name, "variant": variant}
        # The MLflow run spans the training, so its duration is the training's.
        with mlflow_tracking.start_run(context, run_name=f"{model_name}__{variant}", tags=tags) as run:
            result = train_model(model, data, train_config, log=context.log.info)
            metrics = model_metrics(result.model, data)
            model_uri = _log_run(result, metrics, train_config, config.model_options, model_name, variant, data)
            mlflow.log_params(data_params(source, quarantine_counts))
        trained = TrainedModel(
            model_name=model_name, variant=variant, model=result.model, vocabularies=data.vocabularies,
            max_len=data.max_len, metrics=metrics, history=result.history_frame(),
            train_seconds=result.train_seconds, tracking_run_id=run.info.run_id, tracking_model_uri=model_uri,
        )
        test = metrics.set_index("split").loc["test"]
        return dg.Output(
            trained,
            metadata={
                "test_auc": round(float(test["auc"]), 4),
                "test_log_loss": round(float(test["log_loss"]), 4),
                "best_epoch": result.best_epoch,
                "train_seconds": round(result.train_seconds, 1),
                "journeys": data.n_journeys,
                "mlflow_run": dg.MetadataValue.url(mlflow_tracking.run_url(run.info.run_id)),
                "history": dg.MetadataValue.md(result.history_frame().round(4).to_markdown(index=False)),
            },
        )

    return train


def _log_run(result, metrics, train_config, model_options, model_name, variant, data) -> str:
    """Params, per-epoch and final metrics, and the model (the leaderboard registers the winner);
    returns the logged model's URI."""
    mlflow.log_params({**train_config.to_dict(), **model_options, "model": model_name, "variant": variant,
                       "n_journeys": data.n_journeys, "n_events": data.n_events,
                       "n_parameters": sum(p.numel() for p in result.model.parameters())})
    for row in result.history:
        epoch = int(row["epoch"])
        mlflow.log_metrics({k: float(v) for k, v in row.items() if k != "epoch"}, step=epoch)
    for row in metrics.itertuples():
        mlflow.log_metrics({f"{row.split}_auc": row.auc, f"{row.split}_log_loss": row.log_loss,
                            f"{row.split}_ece": row.ece})
    mlflow.log_metrics({"best_epoch": result.best_epoch, "train_seconds": result.train_seconds})
    mlflow.log_dict(encoding_dict(data.vocabularies, data.max_len), ENCODING_ARTIFACT)  # to score later days
    # The honest models (the ones that can be registered) carry an input example: two test
    # journeys as the model reads them. MLflow then tries to serve it through the PyTorch flavor,
    # which cannot pass a JourneyBatch: that one warning is expected and silenced.
    example = journey_example(data) if variant == HONEST_VARIANT else None
    with quiet_serving_check():
        return mlflow.pytorch.log_model(
            result.model,
            name="model",
            pip_requirements=MLFLOW_PIP_REQUIREMENTS,
            # Models take a JourneyBatch, not a tensor, so the traced pt2 format does not apply.
            serialization_format="pickle",
            signature=journey_signature(data),
            input_example=example,
        ).model_uri


@dataclass(frozen=True)
class ModelInputs:
    """The trained models of a definitions load as asset inputs, with their variants' tensors and
    sequences marts where an asset reads them too: every family on the honest variant, the
    `leaky_families` on the leaky comparison variants (Settings.leaky_variant_families)."""

    families: tuple[str, ...]
    variants: tuple[str, ...] = VARIANTS
    leaky_families: tuple[str, ...] | None = None  # None: every family on every variant

    def only(self, *variants: str) -> "ModelInputs":
        return ModelInputs(self.families, tuple(v for v in self.variants if v in variants), self.leaky_families)

    def families_of(self, variant: str) -> tuple[str, ...]:
        """The families trained on `variant`."""
        if variant == HONEST_VARIANT or self.leaky_families is None:
            return self.families
        return tuple(f for f in self.families if f in self.leaky_families)

    def keys(self) -> list[dg.AssetKey]:
        return [model_key(f, v) for v in self.variants for f in self.families_of(v)]

    def ins(self, tensors: bool = False, sequences: bool = False) -> dict[str, dg.AssetIn]:
        """Input name -> AssetIn: `<family>__<variant>` per model; with `tensors`,
        `tensors__<variant>`; with `sequences`, `sequences__<variant>` (the mart)."""
        ins = {key.path[-1]: dg.AssetIn(key) for key in self.keys()}
        for variant in self.variants:
            if tensors:
                ins[f"tensors__{variant}"] = dg.AssetIn(tensors_key(variant))
            if sequences:
                ins[f"sequences__{variant}"] = dg.AssetIn(dbt_model_key(sequences_model(variant)))
        return ins

    @staticmethod
    def models(inputs: dict) -> list[TrainedModel]:
        return [value for value in inputs.values() if isinstance(value, TrainedModel)]

    @staticmethod
    def by_variant(inputs: dict, prefix: str) -> dict[str, object]:
        """variant -> the input `<prefix>__<variant>` (tensors or sequences)."""
        return {name.split("__", 1)[1]: value for name, value in inputs.items() if name.startswith(f"{prefix}__")}

    def assets(self, source: Source) -> list[dg.AssetsDefinition]:
        """The tensors of each variant and the training asset of each family x variant."""
        return [build_tensors_asset(v) for v in self.variants] + [
            build_training_asset(f, v, source) for v in self.variants for f in self.families_of(v)
        ]
