"""Every attribution method on every trained model, and the multi-touch baselines, on the same
journeys: design.md's attribution tables in one call.

Each model runs the methods it supports (:func:`~ml.attribution.methods_for`) among those asked
for; the leaky variants, there to be compared rather than explained, run a cheaper list. Per
variant, the baselines need no model: the rules (last touch, first touch, linear) give
event-level rows like a model, Markov removal and Shapley give one row per event name, and per
store where the journeys touch few stores (Shapley is exact over 2^n coalitions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd

from ml.attribution.methods import DEFAULT_IG_STEPS, completeness_summary, methods_for
from ml.attribution.tables import (
    event_attribution,
    event_type_attribution,
    integrated_gradients_attribution,
    position_attribution,
    store_attribution,
)
from ml.baselines import (
    CHANNEL_METHODS,
    RULE_METHODS,
    channel_attribution,
    channel_event_type_attribution,
    channel_store_attribution,
    rule_attribution,
)
from ml.data import HONEST_VARIANT, SequenceData
from ml.training import TrainedModel, keyed

#: The tables :func:`attribution_tables` returns, by name.
ATTRIBUTION_TABLES: tuple[str, ...] = (
    "event_attribution", "event_type_attribution", "position_attribution", "store_attribution",
    "integrated_gradients_completeness",
)
#: The ``model`` of the baselines' rows: they read paths, not a model.
BASELINE_MODEL = "baseline"
#: integrated_gradients_completeness: one row per model (completeness_summary's figures).
COMPLETENESS_SUMMARY_COLUMNS = [
    "model", "variant", "n_steps", "total_relative_error", "median_relative_error", "p95_relative_error",
    "n_journeys",
]


@dataclass
class AttributionConfig:
    """Which methods run and where.

    methods: the model methods on the honest variant (each model runs those it supports).
    leaky_variant_methods: on the leaky variants (compared, not explained in depth).
    baselines: rule and channel baselines, per variant.
    split: the journeys attributed.
    ig_steps: integrated gradients' Riemann steps.
    store_channel_max_stores: Markov and Shapley over stores too when the split's journeys touch
        at most this many.
    """

    methods: list[str] = field(
        default_factory=lambda: ["grad_x_input", "integrated_gradients", "attention", "attention_rollout"]
    )
    leaky_variant_methods: list[str] = field(default_factory=lambda: ["grad_x_input"])
    baselines: list[str] = field(default_factory=lambda: [*RULE_METHODS, *CHANNEL_METHODS])
    split: str = "test"
    ig_steps: int = DEFAULT_IG_STEPS
    store_channel_max_stores: int = 16


def touches_few_stores(sequences: pd.DataFrame, labels: pd.DataFrame, split: str, max_stores: int) -> bool:
    """True when the ``split`` journeys touch at most ``max_stores`` stores."""
    journeys = labels.loc[labels["split"].astype(str) == split, "journey_id"]
    return sequences.loc[sequences["journey_id"].isin(journeys), "store_id"].nunique() <= max_stores


def attribution_tables(
    models: Iterable[TrainedModel],
    data: dict[str, SequenceData],
    sequences: dict[str, pd.DataFrame],
    labels: pd.DataFrame,
    stores: pd.DataFrame,
    config: AttributionConfig | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, pd.DataFrame]:
    """The tables of :data:`ATTRIBUTION_TABLES`, keyed by ``model`` and ``variant``.

    ``data[variant]``: the variant's journeys as the models read them; ``sequences[variant]``: the
    same journeys in the marts' long format (the baselines read paths); ``labels``: the labels
    mart; ``stores``: store_id and store_name. Models whose variant is not in ``data`` are
    skipped; the baselines run on every variant of ``sequences``.
    """
    config = config or AttributionConfig()
    tables: dict[str, list[pd.DataFrame]] = {name: [] for name in ATTRIBUTION_TABLES}

    def add(events: pd.DataFrame, model: str, variant: str) -> None:
        tables["event_attribution"].append(keyed(events, model, variant))
        tables["event_type_attribution"].append(keyed(event_type_attribution(events), model, variant))
        tables["position_attribution"].append(keyed(position_attribution(events), model, variant))
        tables["store_attribution"].append(keyed(store_attribution(events, stores), model, variant))

    for trained in models:
        if trained.variant not in data:
            continue
        journeys = data[trained.variant]
        wanted = config.methods if trained.variant == HONEST_VARIANT else config.leaky_variant_methods
        for method in (m for m in methods_for(trained.model) if m in wanted):
            if method == "integrated_gradients":  # its completeness comes from the same pass
                events, completeness = integrated_gradients_attribution(
                    trained.model, journeys, split=config.split, n_steps=config.ig_steps
                )
                summary = pd.DataFrame([{"n_steps": config.ig_steps, **completeness_summary(completeness)}])
                tables["integrated_gradients_completeness"].append(trained.keyed(summary))
            else:
                events = event_attribution(trained.model, journeys, method, split=config.split)
            add(events, trained.model_name, trained.variant)
            log(f"{trained.model_name}/{trained.variant} {method}: {len(events):,} event scores")

    for variant, paths in sequences.items():
        max_len = data[variant].max_len
        for method in (m for m in config.baselines if m in RULE_METHODS):
            add(rule_attribution(paths, labels, method, split=config.split, max_len=max_len), BASELINE_MODEL, variant)
        few_stores = touches_few_stores(paths, labels, config.split, config.store_channel_max_stores)
        for method in (m for m in config.baselines if m in CHANNEL_METHODS):
            channels = channel_attribution(paths, labels, method, split=config.split, max_len=max_len)
            tables["event_type_attribution"].append(
                keyed(channel_event_type_attribution(channels), BASELINE_MODEL, variant)
            )
            if few_stores:
                by_store = channel_attribution(paths, labels, method, split=config.split, max_len=max_len,
                                               state_column="store_id")
                tables["store_attribution"].append(
                    keyed(channel_store_attribution(by_store, stores), BASELINE_MODEL, variant)
                )
            else:
                log(f"{method} by store skipped on {variant}: more than "
                    f"{config.store_channel_max_stores} stores in the {config.split} journeys")

    # With integrated gradients switched off, its completeness table is empty but keeps its columns.
    empty = {"integrated_gradients_completeness": COMPLETENESS_SUMMARY_COLUMNS}
    return {
        name: pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=empty.get(name))
        for name, frames in tables.items()
    }
