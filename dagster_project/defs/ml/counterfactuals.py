"""Remove events and re-predict: the counterfactual effect of ads and of each event."""

import dagster as dg
import pandas as pd

from dagster_project.defs.ml.training import ModelInputs
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.warehouse import WAREHOUSE_POOL
from ml.counterfactual import model_effects
from ml.data import HONEST_VARIANT


class CounterfactualConfig(dg.Config):
    """Bootstrap size and seed of the 95% intervals; the split the estimand averages over."""

    n_boot: int = 200
    seed: int = 0
    split: str = "test"


def build_counterfactuals(zoo: ModelInputs) -> dg.AssetsDefinition:
    @dg.asset(pool=WAREHOUSE_POOL, key=[OUTPUT_SCHEMA, "counterfactual_effects"], ins=zoo.ins(tensors=True, sequences=True),
              group_name="attribution")
    def counterfactual_effects(
        context: dg.AssetExecutionContext, config: CounterfactualConfig, **inputs
    ) -> pd.DataFrame:
        """`remove_ad_events` and `remove_event:<event>` for every event: over the test journeys that
        hold the removed events, the mean of p(journey) - p(journey without them), with a bootstrap
        95% interval. `swap_ad_events` (and per event) re-predict with the ads shown as organic
        cards instead — the estimand a randomized ad holdout measures. `estimator` says how each
        model was read: `remove_and_repredict` (the model reads the edited journey again, intent
        included) or, for latent-intent models, `abduction` (intent inferred from the full journey
        and held)."""
        tensors, sequences = zoo.by_variant(inputs, "tensors"), zoo.by_variant(inputs, "sequences")
        frames = []
        for trained in zoo.models(inputs):
            data, paths = tensors[trained.variant], sequences[trained.variant]
            effects = model_effects(
                trained.model, data, paths, split=config.split, n_boot=config.n_boot, seed=config.seed,
                swaps=trained.variant == HONEST_VARIANT,  # the swaps feed the honest ad effects only
            )
            frames.append(trained.keyed(effects))
        frame = pd.concat(frames, ignore_index=True)
        frame.insert(0, "run_id", context.run_id)
        return frame

    return counterfactual_effects
