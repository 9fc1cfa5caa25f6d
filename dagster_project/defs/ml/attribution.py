"""Which events drive conversion: per-event scores and their aggregates, for every model and the
multi-touch baselines, computed on the same test journeys."""

import dagster as dg
import pandas as pd

from dagster_project.defs.ml.evaluation import MODEL_INS, MODEL_KEYS, tag_rows
from dagster_project.marts import HONEST_VARIANT, STORES, relation, variant_reader
from dagster_project.outputs import publish_table
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.trained import TrainedJourneyModel
from dagster_project.warehouse import Warehouse
from ml.attribution import (
    completeness_summary,
    event_attribution,
    event_type_attribution,
    integrated_gradients_attribution,
    methods_for,
    position_attribution,
    store_attribution,
)
from ml.baselines import (
    CHANNEL_METHODS, RULE_METHODS, channel_attribution, channel_event_type_attribution, channel_store_attribution,
    rule_attribution,
)

ATTRIBUTION_TABLES = (
    "event_attribution", "event_type_attribution", "position_attribution", "store_attribution",
    "integrated_gradients_completeness",
)
BASELINE_MODEL = "baseline"  # the model column of the baselines' rows: they need no model
COMPLETENESS_COLUMNS = [
    "run_id", "model", "variant", "n_steps", "total_relative_error", "median_relative_error",
    "p95_relative_error", "n_journeys",
]


class AttributionConfig(dg.Config):
    """Which methods run (each model runs those it supports), on which split, and IG's steps."""

    methods: list[str] = ["grad_x_input", "integrated_gradients", "attention", "attention_rollout"]
    # The leaky variants are there to be compared, not explained in depth: one cheap method.
    leaky_variant_methods: list[str] = ["grad_x_input"]
    baselines: list[str] = [*RULE_METHODS, *CHANNEL_METHODS]
    split: str = "test"
    ig_steps: int = 16
    # Markov and Shapley over stores too (store_attribution), when the split's journeys touch at
    # most this many: Shapley is exact over 2^n coalitions.
    store_channel_max_stores: int = 16


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            [OUTPUT_SCHEMA, name],
            deps=[STORES, *MODEL_KEYS],
            group_name="attribution",
        )
        for name in ATTRIBUTION_TABLES
    ],
    ins=MODEL_INS,
)
def attributions(
    context: dg.AssetExecutionContext, config: AttributionConfig, warehouse: Warehouse, **models: TrainedJourneyModel
):
    """Event-level attribution on the test journeys — attention (mean over layers and heads) and
    attention rollout where a model has attention, gradient x input and integrated gradients
    (with its completeness error) for every model; last touch, first touch and linear
    for the baselines — normalized to sum 1 per journey, and its aggregates by event, position
    bucket and store. Markov removal and Shapley values add event-level rows, and store-level
    rows where the journeys touch few stores (store_channel_max_stores)."""
    stores = warehouse.read_table(relation(STORES))
    tables = {name: [] for name in ATTRIBUTION_TABLES}

    def add(events: pd.DataFrame, **keys) -> None:
        tables["event_attribution"].append(tag_rows(events, context.run_id, **keys))
        tables["event_type_attribution"].append(tag_rows(event_type_attribution(events), context.run_id, **keys))
        tables["position_attribution"].append(tag_rows(position_attribution(events), context.run_id, **keys))
        tables["store_attribution"].append(tag_rows(store_attribution(events, stores), context.run_id, **keys))

    variants = {}
    read = variant_reader(warehouse)
    for trained in models.values():
        sequences, labels = read(trained.variant)
        data = trained.sequence_data(sequences, labels)
        variants.setdefault(trained.variant, (sequences, labels, data.max_len))
        wanted = config.methods if trained.variant == HONEST_VARIANT else config.leaky_variant_methods
        methods = [m for m in methods_for(trained.model) if m in wanted]
        for method in methods:
            if method == "integrated_gradients":  # its completeness comes from the same pass
                events, completeness = integrated_gradients_attribution(
                    trained.model, data, split=config.split, n_steps=config.ig_steps
                )
                summary = pd.DataFrame([{"n_steps": config.ig_steps, **completeness_summary(completeness)}])
                tables["integrated_gradients_completeness"].append(tag_rows(summary, context.run_id, trained))
            else:
                events = event_attribution(trained.model, data, method, split=config.split)
            add(events, trained=trained)
            context.log.info(f"{trained.model_name}/{trained.variant} {method}: {len(events):,} event scores")

    for variant, (sequences, labels, max_len) in variants.items():
        keys = {"model": BASELINE_MODEL, "variant": variant}
        few_stores = _few_stores(sequences, labels, config)
        for method in (m for m in config.baselines if m in RULE_METHODS):
            add(rule_attribution(sequences, labels, method, split=config.split, max_len=max_len), **keys)
        for method in (m for m in config.baselines if m in CHANNEL_METHODS):
            channels = channel_attribution(sequences, labels, method, split=config.split, max_len=max_len)
            tables["event_type_attribution"].append(
                tag_rows(channel_event_type_attribution(channels), context.run_id, **keys)
            )
            if few_stores:
                by_store = channel_attribution(sequences, labels, method, split=config.split, max_len=max_len,
                                               state_column="store_id")
                tables["store_attribution"].append(
                    tag_rows(channel_store_attribution(by_store, stores), context.run_id, **keys)
                )
            else:
                context.log.info(f"{method} by store skipped on {variant}: more than "
                                 f"{config.store_channel_max_stores} stores in the {config.split} journeys")

    for name, frames in tables.items():
        # With integrated gradients switched off, its completeness table is empty but keeps its columns.
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COMPLETENESS_COLUMNS)
        yield dg.MaterializeResult(asset_key=[OUTPUT_SCHEMA, name], metadata=publish_table(warehouse, name, frame))


def _few_stores(sequences: pd.DataFrame, labels: pd.DataFrame, config: AttributionConfig) -> bool:
    """True when the split's journeys touch at most config.store_channel_max_stores stores."""
    journeys = labels.loc[labels["split"].astype(str) == config.split, "journey_id"]
    stores = sequences.loc[sequences["journey_id"].isin(journeys), "store_id"].nunique()
    return stores <= config.store_channel_max_stores
