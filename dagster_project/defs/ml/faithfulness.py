"""Faithfulness of each attribution method: delete (or add back) the top-attributed events and
re-predict; random order is the floor."""

import dagster as dg
import numpy as np
import pandas as pd

from dagster_project.defs.ml.evaluation import MODEL_INS, MODEL_KEYS, tag_rows
from dagster_project.marts import HONEST_VARIANT, variant_reader
from dagster_project.outputs import publish_table, save_figure
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.tracking import MlflowTracking
from dagster_project.trained import TrainedJourneyModel
from dagster_project.warehouse import Warehouse
from ml.attribution import faithfulness as faithfulness_curves
from ml.reporting import faithfulness_figure


class FaithfulnessConfig(dg.Config):
    """Each curve re-predicts every sampled journey at 11 steps per method: sample to stay cheap."""

    max_journeys: int = 400
    seed: int = 0


@dg.multi_asset(
    specs=[
        dg.AssetSpec([OUTPUT_SCHEMA, "faithfulness"], deps=[[OUTPUT_SCHEMA, "event_attribution"], *MODEL_KEYS],
                     group_name="attribution"),
        dg.AssetSpec([OUTPUT_SCHEMA, "faithfulness_curves"], deps=[[OUTPUT_SCHEMA, "event_attribution"], *MODEL_KEYS],
                     group_name="attribution"),
    ],
    ins=MODEL_INS,
)
def faithfulness(
    context: dg.AssetExecutionContext, config: FaithfulnessConfig, warehouse: Warehouse,
    mlflow_tracking: MlflowTracking, **models: TrainedJourneyModel,
):
    """Deletion and insertion curves of every method for each honest model, on the same sampled
    test journeys: a faithful method's deletion curve drops fast (small deletion_auc) and its
    insertion curve rises fast (large insertion_auc), compared with random order."""
    event_attr = warehouse.read_table(f"{OUTPUT_SCHEMA}.event_attribution")
    summaries, curves, figures = [], [], {}
    read = variant_reader(warehouse)
    for trained in models.values():
        if trained.variant != HONEST_VARIANT:
            continue
        sequences, labels = read(trained.variant)
        data = trained.sequence_data(sequences, labels)
        mine = event_attr[(event_attr["model"] == trained.model_name) & (event_attr["variant"] == trained.variant)]
        journeys = mine["journey_id"].unique()
        if len(journeys) > config.max_journeys:
            journeys = np.random.default_rng(config.seed).choice(journeys, config.max_journeys, replace=False)
        mine = mine[mine["journey_id"].isin(journeys)].drop(columns=["run_id", "model", "variant"])
        model_curves, summary = faithfulness_curves(trained.model, data, sequences, mine, seed=config.seed)
        curves.append(tag_rows(model_curves, context.run_id, trained))
        summaries.append(tag_rows(summary, context.run_id, trained))
        name = f"faithfulness_{trained.model_name}__{trained.variant}.png"
        path = save_figure(faithfulness_figure(model_curves, f"Faithfulness: {trained.model_name} on {trained.variant}"), name)
        figures[name] = dg.MetadataValue.path(path)
        mlflow_tracking.log_figures([trained.mlflow_run_id], [path])
        context.log.info(f"{trained.model_name}: faithfulness on {len(journeys)} journeys")
    yield dg.MaterializeResult(
        asset_key=[OUTPUT_SCHEMA, "faithfulness"],
        metadata={**publish_table(warehouse, "faithfulness", pd.concat(summaries, ignore_index=True)), **figures},
    )
    yield dg.MaterializeResult(
        asset_key=[OUTPUT_SCHEMA, "faithfulness_curves"],
        metadata=publish_table(warehouse, "faithfulness_curves", pd.concat(curves, ignore_index=True)),
    )
