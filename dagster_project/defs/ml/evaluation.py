"""model_metrics: every trained model's AUC and log loss per split, in one table;
journey_predictions: the per-journey probabilities behind the test figures."""

import dagster as dg
import pandas as pd

from dagster_project.defs.ml.training import training_assets
from dagster_project.marts import variant_reader
from dagster_project.outputs import publish_table
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.trained import TrainedJourneyModel
from dagster_project.warehouse import Warehouse
from ml.evaluation import predict_proba

MODEL_INS = {asset.key.path[-1]: dg.AssetIn(key=asset.key) for asset in training_assets}
# A multi_asset with `ins` must also list them as deps of its specs.
MODEL_KEYS = [asset_in.key for asset_in in MODEL_INS.values()]


def tag_rows(frame: pd.DataFrame, run_id: str, trained: TrainedJourneyModel | None = None,
             model: str | None = None, variant: str | None = None) -> pd.DataFrame:
    """Prefix the design.md key columns run_id, model, variant (from `trained`, or given)."""
    model = trained.model_name if trained is not None else model
    variant = trained.variant if trained is not None else variant
    keys = pd.DataFrame({"run_id": run_id, "model": model, "variant": variant}, index=frame.index)
    return pd.concat([keys, frame], axis=1)


@dg.asset(key=[OUTPUT_SCHEMA, "model_metrics"], ins=MODEL_INS, group_name="evaluation")
def model_metrics(context: dg.AssetExecutionContext, warehouse: Warehouse, **models: TrainedJourneyModel):
    """Test, validation and train AUC and log loss of every model x variant."""
    frame = pd.concat([tag_rows(m.metrics, context.run_id, m) for m in models.values()], ignore_index=True)
    metadata = publish_table(warehouse, "model_metrics", frame, preview_rows=12)
    # AUC is undefined on a split holding journeys of one class (tiny or skewed real data): said, not a crash.
    one_class = sorted(frame.loc[frame["auc"].isna() & (frame["n_journeys"] > 0), "split"].unique())
    for split in one_class:
        n = int(frame.loc[frame["split"] == split, "n_journeys"].max())
        context.log.warning(f"AUC undefined on the {split} split: its {n} journeys are all of one class")
    if one_class:
        metadata["auc_undefined_splits"] = ", ".join(one_class)
    return dg.MaterializeResult(metadata=metadata)


class PredictionsConfig(dg.Config):
    """The split whose journeys are scored."""

    split: str = "test"


@dg.asset(key=[OUTPUT_SCHEMA, "journey_predictions"], ins=MODEL_INS, group_name="evaluation")
def journey_predictions(
    context: dg.AssetExecutionContext, config: PredictionsConfig, warehouse: Warehouse, **models: TrainedJourneyModel
):
    """Every model x variant's p(convert) for each journey of the test split, next to its label:
    the rows behind model_metrics' test figures, for calibration plots and metrics on subgroups
    (join fct_journey_labels, or an importer's side file, by journey_id)."""
    read = variant_reader(warehouse)
    frames = []
    for trained in models.values():
        data = trained.sequence_data(*read(trained.variant))
        journeys = data.indices(config.split)
        frame = pd.DataFrame({
            "journey_id": data.journey_id[journeys],
            "split": config.split,
            "converted": data.label[journeys] == 1.0,
            "p_convert": predict_proba(trained.model, data, config.split),
        })
        frames.append(tag_rows(frame, context.run_id, trained))
        context.log.info(f"{trained.model_name}/{trained.variant}: {len(frame):,} {config.split} journeys scored")
    return dg.MaterializeResult(metadata=publish_table(warehouse, "journey_predictions", pd.concat(frames, ignore_index=True)))
