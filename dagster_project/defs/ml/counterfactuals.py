"""Remove events and re-predict: the counterfactual effect of ads and of each event."""

import dagster as dg
import pandas as pd

from dagster_project.defs.ml.evaluation import MODEL_INS, tag_rows
from dagster_project.marts import HONEST_VARIANT, variant_reader
from dagster_project.outputs import publish_table
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.trained import TrainedJourneyModel
from dagster_project.warehouse import Warehouse
from ml.counterfactual import counterfactual_effects as estimate_effects
from ml.counterfactual import default_interventions, sponsorship_effects


class CounterfactualConfig(dg.Config):
    """Bootstrap size and seed of the 95% intervals; the split the estimand averages over."""

    n_boot: int = 200
    seed: int = 0
    split: str = "test"


@dg.asset(key=[OUTPUT_SCHEMA, "counterfactual_effects"], ins=MODEL_INS, group_name="attribution")
def counterfactual_effects(
    context: dg.AssetExecutionContext, config: CounterfactualConfig, warehouse: Warehouse,
    **models: TrainedJourneyModel,
):
    """`remove_ad_events` and `remove_event:<event>` for every event: over the test journeys that
    hold the removed events, the mean of p(journey) - p(journey without them), with a bootstrap
    95% interval. `swap_ad_events` (and per event) re-predict with the ads shown as organic
    cards instead — the estimand a randomized ad holdout measures."""
    frames = []
    read = variant_reader(warehouse)
    for trained in models.values():
        sequences, labels = read(trained.variant)
        data = trained.sequence_data(sequences, labels)
        effects = estimate_effects(
            trained.model, data, sequences, default_interventions(sequences),
            split=config.split, n_boot=config.n_boot, seed=config.seed,
        )
        if trained.variant == HONEST_VARIANT:  # the swap feeds the honest ad effects only
            swaps = sponsorship_effects(
                trained.model, data, sequences, split=config.split, n_boot=config.n_boot, seed=config.seed
            )
            effects = pd.concat([effects, swaps], ignore_index=True)
        frames.append(tag_rows(effects, context.run_id, trained))
    frame = pd.concat(frames, ignore_index=True)
    return dg.MaterializeResult(metadata=publish_table(warehouse, "counterfactual_effects", frame))
