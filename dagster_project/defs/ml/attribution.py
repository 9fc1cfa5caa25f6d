"""Which events drive conversion: per-event scores and their aggregates, for every model."""

import dagster as dg
import pandas as pd

from dagster_project.defs.ml.evaluation import MODEL_INS, tag_rows
from dagster_project.marts import STORES, read_variant, relation
from dagster_project.outputs import publish_table
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.trained import TrainedJourneyModel
from dagster_project.warehouse import Warehouse
from ml.attribution import (
    event_attribution,
    event_type_attribution,
    methods_for,
    position_attribution,
    store_attribution,
)

ATTRIBUTION_TABLES = ("event_attribution", "event_type_attribution", "position_attribution", "store_attribution")


class AttributionConfig(dg.Config):
    """Which methods run (each model runs those it supports) and on which split."""

    methods: list[str] = ["grad_x_input", "integrated_gradients", "attention"]
    split: str = "test"


def attribute_model(trained: TrainedJourneyModel, warehouse: Warehouse, config: AttributionConfig) -> pd.DataFrame:
    sequences, labels = read_variant(warehouse, trained.variant)
    data = trained.sequence_data(sequences, labels)
    methods = [m for m in methods_for(trained.model) if m in config.methods]
    return pd.concat([event_attribution(trained.model, data, m, split=config.split) for m in methods], ignore_index=True)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            [OUTPUT_SCHEMA, name],
            deps=[STORES, *(asset_in.key for asset_in in MODEL_INS.values())],
            group_name="attribution",
        )
        for name in ATTRIBUTION_TABLES
    ],
    ins=MODEL_INS,
)
def attributions(
    context: dg.AssetExecutionContext, config: AttributionConfig, warehouse: Warehouse, **models: TrainedJourneyModel
):
    """Event-level attribution (gradient x input, integrated gradients, attention) on the test
    journeys, normalized to sum 1 per journey, and its aggregates by event, position bucket and store."""
    stores = warehouse.read_table(relation(STORES))
    tables = {name: [] for name in ATTRIBUTION_TABLES}
    for trained in models.values():
        events = attribute_model(trained, warehouse, config)
        context.log.info(f"{trained.model_name}/{trained.variant}: {len(events)} event scores")
        tables["event_attribution"].append(tag_rows(events, context.run_id, trained))
        tables["event_type_attribution"].append(tag_rows(event_type_attribution(events), context.run_id, trained))
        tables["position_attribution"].append(tag_rows(position_attribution(events), context.run_id, trained))
        tables["store_attribution"].append(tag_rows(store_attribution(events, stores), context.run_id, trained))
    for name, frames in tables.items():
        frame = pd.concat(frames, ignore_index=True)
        yield dg.MaterializeResult(asset_key=[OUTPUT_SCHEMA, name], metadata=publish_table(warehouse, name, frame))
