"""Honest ad effects: the randomized holdout's estimate, next to the model-based one, and the
model's per-event ad effects calibrated to it."""

import dagster as dg
import pandas as pd

from dagster_project.marts import HONEST_VARIANT
from dagster_project.outputs import publish_table
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.warehouse import Warehouse
from ml.counterfactual import SWAP_AD_EVENT_PREFIX, SWAP_AD_EVENTS, calibrate_ad_effects, experiment_effect

EXPERIMENT_JOURNEYS = dg.AssetKey(["marts", "fct_ad_experiment_journeys"])
EXPERIMENT_MODEL = "experiment"  # the model column of the experiment's row
NO_EXPERIMENT_WARNING = (
    "no randomized ad holdout in the data: the model-based ad effect is confounded by targeting "
    "(ads go to high-intent users), read it as an upper bound"
)


class AdEffectsConfig(dg.Config):
    n_boot: int = 1000
    seed: int = 0


@dg.asset(
    key=[OUTPUT_SCHEMA, "ad_effects"],
    deps=[EXPERIMENT_JOURNEYS, [OUTPUT_SCHEMA, "counterfactual_effects"]],
    group_name="attribution",
)
def ad_effects(context: dg.AssetExecutionContext, config: AdEffectsConfig, warehouse: Warehouse):
    """The ad effect from the randomized holdout (exposed treatment vs ghost-exposed holdout
    journeys, user-level bootstrap interval) as the row `model = experiment`; each honest model's
    `swap_ad_events` estimate beside it; and its per-event swap effects calibrated so their
    journey-weighted mean equals the experiment (`calibrated_effect`). Without a holdout the
    table holds the model-based rows only and the summary warns that they are confounded."""
    journeys = warehouse.read_table("marts.fct_ad_experiment_journeys")
    effects = warehouse.read_table(f"{OUTPUT_SCHEMA}.counterfactual_effects")
    honest = effects[
        (effects["variant"] == HONEST_VARIANT) & effects["intervention"].str.startswith(SWAP_AD_EVENTS)
    ].drop(columns="run_id")
    has_experiment = journeys["arm"].eq("holdout").any() and journeys["is_exposed"].any()
    frames = []
    if has_experiment:
        experiment = experiment_effect(journeys, n_boot=config.n_boot, seed=config.seed)
        frames.append(experiment.assign(model=EXPERIMENT_MODEL, variant=HONEST_VARIANT))
        for _, rows in honest.groupby("model"):
            per_event = rows[rows["intervention"].str.startswith(SWAP_AD_EVENT_PREFIX)]
            frames += [rows[rows["intervention"] == SWAP_AD_EVENTS], calibrate_ad_effects(per_event, experiment)]
    else:
        context.log.warning(NO_EXPERIMENT_WARNING)
        frames.append(honest)
    table = pd.concat(frames, ignore_index=True)
    keys = ["model", "variant", "intervention"]
    table = table[keys + [c for c in table.columns if c not in keys]]
    table.insert(0, "run_id", context.run_id)
    metadata = publish_table(warehouse, "ad_effects", table, preview_rows=12)
    metadata["has_experiment"] = bool(has_experiment)
    if not has_experiment:
        metadata["warning"] = NO_EXPERIMENT_WARNING
    return dg.MaterializeResult(metadata=metadata)
