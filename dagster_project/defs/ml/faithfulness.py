"""Faithfulness of each attribution method: delete (or add back) the top-attributed events and
re-predict; random order is the floor."""

import dagster as dg
import numpy as np
import pandas as pd

from dagster_project.defs.ml.figures import save_figure
from dagster_project.defs.ml.training import ModelInputs
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.tracking import MlflowTracking
from dagster_project.warehouse import WAREHOUSE_POOL
from ml.attribution import faithfulness
from ml.data import HONEST_VARIANT
from ml.reporting import faithfulness_figure

EVENT_ATTRIBUTION = dg.AssetKey([OUTPUT_SCHEMA, "event_attribution"])


class FaithfulnessConfig(dg.Config):
    """Each curve re-predicts every sampled journey at 11 steps per method: sample to stay cheap."""

    max_journeys: int = 400
    seed: int = 0


def build_faithfulness(zoo: ModelInputs) -> dg.AssetsDefinition:
    honest = zoo.only(HONEST_VARIANT)

    @dg.multi_asset(
        pool=WAREHOUSE_POOL,
        outs={
            "faithfulness": dg.AssetOut(key=[OUTPUT_SCHEMA, "faithfulness"]),
            "faithfulness_curves": dg.AssetOut(key=[OUTPUT_SCHEMA, "faithfulness_curves"]),
        },
        ins={**honest.ins(tensors=True, sequences=True), "event_attribution": dg.AssetIn(EVENT_ATTRIBUTION)},
        group_name="attribution",
        name="faithfulness",
    )
    def faithfulness_of_methods(
        context: dg.AssetExecutionContext, config: FaithfulnessConfig, mlflow_tracking: MlflowTracking,
        event_attribution: pd.DataFrame, **inputs,
    ):
        """Deletion and insertion curves of every method for each honest model, on the same sampled
        test journeys: a faithful method's deletion curve drops fast (small deletion_auc) and its
        insertion curve rises fast (large insertion_auc), compared with random order."""
        tensors, sequences = honest.by_variant(inputs, "tensors"), honest.by_variant(inputs, "sequences")
        summaries, curves, figures = [], [], {}
        for trained in honest.models(inputs):
            mine = event_attribution[
                (event_attribution["model"] == trained.model_name) & (event_attribution["variant"] == trained.variant)
            ]
            journeys = mine["journey_id"].unique()
            if len(journeys) > config.max_journeys:
                journeys = np.random.default_rng(config.seed).choice(journeys, config.max_journeys, replace=False)
            mine = mine[mine["journey_id"].isin(journeys)].drop(columns=["run_id", "model", "variant"])
            model_curves, summary = faithfulness(
                trained.model, tensors[trained.variant], sequences[trained.variant], mine, seed=config.seed
            )
            curves.append(trained.keyed(model_curves))
            summaries.append(trained.keyed(summary))
            name = f"faithfulness_{trained.model_name}__{trained.variant}.png"
            title = f"Faithfulness: {trained.model_name} on {trained.variant}"
            saved = save_figure(faithfulness_figure(model_curves, title), name)
            figures[name] = saved.metadata
            mlflow_tracking.log_figures(trained.tracking_run_id, {"faithfulness.png": saved.path})
            context.log.info(f"{trained.model_name}: faithfulness on {len(journeys)} journeys")
        for output, frames, metadata in (("faithfulness", summaries, figures), ("faithfulness_curves", curves, {})):
            frame = pd.concat(frames, ignore_index=True)
            frame.insert(0, "run_id", context.run_id)
            yield dg.Output(frame, output_name=output, metadata=metadata)

    return faithfulness_of_methods
