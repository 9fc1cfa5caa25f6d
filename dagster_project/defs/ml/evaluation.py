"""model_metrics: every trained model's AUC and log loss per split, in one table;
journey_predictions: the per-journey probabilities behind the test figures; journey_embeddings:
the vector each model classifies from."""

import dagster as dg
import numpy as np
import pandas as pd

from dagster_project.defs.ml.training import ModelInputs
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.warehouse import WAREHOUSE_POOL
from ml.evaluation import journey_embeddings as embed_journeys
from ml.evaluation import predict_proba


class PredictionsConfig(dg.Config):
    """The split whose journeys are scored."""

    split: str = "test"


def build_evaluation_assets(zoo: ModelInputs) -> list[dg.AssetsDefinition]:
    @dg.asset(pool=WAREHOUSE_POOL, key=[OUTPUT_SCHEMA, "model_metrics"], ins=zoo.ins(), group_name="evaluation",
              metadata={"preview_rows": 12})
    def model_metrics(context: dg.AssetExecutionContext, **inputs) -> dg.Output[pd.DataFrame]:
        """Test, validation and train AUC and log loss of every model x variant."""
        frame = pd.concat([m.keyed(m.metrics) for m in zoo.models(inputs)], ignore_index=True)
        frame.insert(0, "run_id", context.run_id)
        # AUC is undefined on a split holding journeys of one class (tiny or skewed real data): said, not a crash.
        one_class = sorted(frame.loc[frame["auc"].isna() & (frame["n_journeys"] > 0), "split"].unique())
        for split in one_class:
            n = int(frame.loc[frame["split"] == split, "n_journeys"].max())
            context.log.warning(f"AUC undefined on the {split} split: its {n} journeys are all of one class")
        return dg.Output(frame, metadata={"auc_undefined_splits": ", ".join(one_class)} if one_class else {})

    @dg.asset(pool=WAREHOUSE_POOL, key=[OUTPUT_SCHEMA, "journey_predictions"], ins=zoo.ins(tensors=True), group_name="evaluation",
              metadata={"file_format": "parquet"})  # one row per model x journey
    def journey_predictions(context: dg.AssetExecutionContext, config: PredictionsConfig, **inputs) -> pd.DataFrame:
        """Every model x variant's p(convert) for each journey of the test split, next to its label:
        the rows behind model_metrics' test figures, for calibration plots and metrics on subgroups
        (join fct_journey_labels, or an importer's side file, by journey_id)."""
        tensors = zoo.by_variant(inputs, "tensors")
        frames = []
        for trained in zoo.models(inputs):
            data = tensors[trained.variant]
            journeys = data.indices(config.split)
            frame = pd.DataFrame({
                "journey_id": data.journey_id[journeys],
                "split": config.split,
                "converted": data.label[journeys] == 1.0,
                "p_convert": predict_proba(trained.model, data, config.split),
            })
            frames.append(trained.keyed(frame))
            context.log.info(f"{trained.model_name}/{trained.variant}: {len(frame):,} {config.split} journeys scored")
        frame = pd.concat(frames, ignore_index=True)
        frame.insert(0, "run_id", context.run_id)
        return frame

    @dg.asset(pool=WAREHOUSE_POOL, key=[OUTPUT_SCHEMA, "journey_embeddings"], ins=zoo.ins(tensors=True), group_name="evaluation")
    def journey_embeddings(context: dg.AssetExecutionContext, **inputs) -> dg.Output[pd.DataFrame]:
        """run_id, model, variant, journey_id, embedding (a FLOAT[] vector): the last hidden state,
        CLS output, pooled vector or latent mean of every journey, so analysts can cluster and
        profile journeys. Written as a warehouse table and as Parquet (vectors do not fit a CSV)."""
        tensors = zoo.by_variant(inputs, "tensors")
        frames = []
        for trained in zoo.models(inputs):
            vectors = embed_journeys(trained.model, tensors[trained.variant])
            frames.append(trained.keyed(vectors[["journey_id", "embedding"]]))
        frame = pd.concat(frames, ignore_index=True)
        frame.insert(0, "run_id", context.run_id)
        frame["embedding"] = [np.asarray(v, dtype=np.float32) for v in frame["embedding"]]
        sizes = frame.groupby(["model", "variant"])["embedding"].first().map(len)
        return dg.Output(frame, metadata={
            "dimensions": dg.MetadataValue.md(sizes.rename("dimensions").reset_index().to_markdown(index=False)),
        })

    return [model_metrics, journey_predictions, journey_embeddings]
