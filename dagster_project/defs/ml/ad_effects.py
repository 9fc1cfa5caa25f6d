"""Honest ad effects: the randomized holdout's estimate, next to the model-based one, and the
model's per-event ad effects calibrated to it (ml.counterfactual.ad_effects_table)."""

import dagster as dg
import pandas as pd

from dagster_project.defs.dbt.assets import dbt_model_key
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.warehouse import WAREHOUSE_POOL
from ml.counterfactual import NO_EXPERIMENT_WARNING, ad_effects_table, has_experiment
from ml.data import HONEST_VARIANT

EXPERIMENT_JOURNEYS_MODEL = "fct_ad_experiment_journeys"


class AdEffectsConfig(dg.Config):
    n_boot: int = 1000
    seed: int = 0


@dg.asset(
    pool=WAREHOUSE_POOL,
    key=[OUTPUT_SCHEMA, "ad_effects"],
    ins={
        "journeys": dg.AssetIn(dbt_model_key(EXPERIMENT_JOURNEYS_MODEL)),
        "counterfactual_effects": dg.AssetIn([OUTPUT_SCHEMA, "counterfactual_effects"]),
    },
    group_name="attribution",
    metadata={"preview_rows": 12},
)
def ad_effects(
    context: dg.AssetExecutionContext, config: AdEffectsConfig, journeys: pd.DataFrame,
    counterfactual_effects: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """The ad effect from the randomized holdout (exposed treatment vs ghost-exposed holdout
    journeys, user-level bootstrap interval) as the row `model = experiment`; each honest model's
    `swap_ad_events` estimate beside it; and its per-event swap effects calibrated so their
    journey-weighted mean equals the experiment (`calibrated_effect`). Without a holdout the
    table holds the model-based rows only and the summary warns that they are confounded."""
    table = ad_effects_table(journeys, counterfactual_effects, HONEST_VARIANT, n_boot=config.n_boot, seed=config.seed)
    table.insert(0, "run_id", context.run_id)
    metadata = {"has_experiment": has_experiment(journeys)}
    if not metadata["has_experiment"]:
        context.log.warning(NO_EXPERIMENT_WARNING)
        metadata["warning"] = NO_EXPERIMENT_WARNING
    return dg.Output(table, metadata=metadata)
