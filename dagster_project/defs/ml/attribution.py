"""Which events drive conversion: per-event scores and their aggregates, for every model and the
multi-touch baselines, on the same test journeys (ml.attribution.attribution_tables)."""

import dagster as dg
import pandas as pd

from dagster_project.defs.dbt.assets import LABELS_MODEL, STORES_MODEL, dbt_model_key
from dagster_project.defs.ml.training import ModelInputs
from dagster_project.settings import OUTPUT_SCHEMA, as_dataclass, config_from_dataclass
from dagster_project.warehouse import WAREHOUSE_POOL
from ml import attribution

AttributionConfig = config_from_dataclass(attribution.AttributionConfig)
# One row per model x method x test event: outputs/event_attribution.parquet (and a CSV sample).
PER_EVENT = {"event_attribution": {"file_format": "parquet"}}


def build_attributions(zoo: ModelInputs) -> dg.AssetsDefinition:
    @dg.multi_asset(
        pool=WAREHOUSE_POOL,
        outs={name: dg.AssetOut(key=[OUTPUT_SCHEMA, name], metadata=PER_EVENT.get(name, {}))
              for name in attribution.ATTRIBUTION_TABLES},
        ins={
            **zoo.ins(tensors=True, sequences=True),
            "labels": dg.AssetIn(dbt_model_key(LABELS_MODEL)),
            "stores": dg.AssetIn(dbt_model_key(STORES_MODEL)),
        },
        group_name="attribution",
        name="attributions",
    )
    def attributions(
        context: dg.AssetExecutionContext, config: AttributionConfig, labels: pd.DataFrame, stores: pd.DataFrame,
        **inputs,
    ):
        """Event-level attribution on the test journeys — attention (mean over layers and heads) and
        attention rollout where a model has attention, gradient x input and integrated gradients
        (with its completeness error) for every model; last touch, first touch and linear for the
        baselines — normalized to sum 1 per journey, and its aggregates by event, position bucket
        and store. Markov removal and Shapley values add event-level rows, and store-level rows
        where the journeys touch few stores (store_channel_max_stores)."""
        tables = attribution.attribution_tables(
            zoo.models(inputs), zoo.by_variant(inputs, "tensors"), zoo.by_variant(inputs, "sequences"),
            labels, stores, as_dataclass(config, attribution.AttributionConfig), log=context.log.info,
        )
        for name, frame in tables.items():
            frame.insert(0, "run_id", context.run_id)
            yield dg.Output(frame, output_name=name)

    return attributions
