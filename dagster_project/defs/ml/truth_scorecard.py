"""Every attribution scored against the simulator's truth (simulated sources only)."""

import dagster as dg
import numpy as np
import pandas as pd

from dagster_project.defs.ml.ad_effects import EXPERIMENT_MODEL
from dagster_project.marts import HONEST_VARIANT
from dagster_project.outputs import publish_table, save_figure
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.sources import journeylift_source
from dagster_project.warehouse import Warehouse
from ml.evaluation import best_of_scorecard, truth_scorecard as score_against_truth
from ml.evaluation.truth import COUNTERFACTUAL_METHOD
from ml.reporting import scorecard_figure

SCORED_TABLES = ("event_type_attribution", "position_attribution", "counterfactual_effects", "ad_effects")
EXPERIMENT_METHOD = "randomized_holdout"  # the method of the holdout's row: no model read it


def build_truth_scorecard() -> dg.AssetsDefinition:
    return dg.asset(
        key=[OUTPUT_SCHEMA, "truth_scorecard"],
        deps=[[OUTPUT_SCHEMA, t] for t in (*SCORED_TABLES, "simulator_truth", "simulator_position_weights")],
        group_name="report",
    )(truth_scorecard)


def truth_scorecard(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """For each model and method: Spearman of event-type lifts and of `remove_event:<event>`
    counterfactuals with the true removal effects, the error of position estimates against the
    true position weights, and the relative error of the ad effects (removal, and the holdout
    experiment's estimand) against the truth."""
    # Only the honest variant is scored: the leaky ones exist to show leakage, not to be believed.
    tables = {
        t: warehouse.read_table(f"{OUTPUT_SCHEMA}.{t}").query("variant == @HONEST_VARIANT")
        for t in SCORED_TABLES
    }
    effects = pd.concat([tables["counterfactual_effects"], tables["ad_effects"]], ignore_index=True)
    effects["method"] = np.where(effects["model"] == EXPERIMENT_MODEL, EXPERIMENT_METHOD, COUNTERFACTUAL_METHOD)
    scorecard = score_against_truth(
        tables["event_type_attribution"],
        effects.drop_duplicates(["model", "variant", "intervention"]),
        tables["position_attribution"],
        warehouse.read_table(f"{OUTPUT_SCHEMA}.simulator_truth"),
        position_weights=warehouse.read_table(f"{OUTPUT_SCHEMA}.simulator_position_weights"),
    )
    scorecard.insert(0, "run_id", context.run_id)
    best = best_of_scorecard(scorecard)
    return dg.MaterializeResult(
        metadata={
            **publish_table(warehouse, "truth_scorecard", scorecard, preview_rows=10),
            "best": dg.MetadataValue.md(best.to_markdown(index=False)),
            "figure": dg.MetadataValue.path(save_figure(scorecard_figure(scorecard), "truth_scorecard.png")),
        }
    )


@dg.definitions
def scorecard_assets() -> dg.Definitions:
    """Only a simulated source knows the truth. Chosen at every definitions load (like the raw
    assets), so a code location reloaded on another JOURNEYLIFT_SOURCE never keeps a stale one."""
    return dg.Definitions(assets=[build_truth_scorecard()] if journeylift_source().kind == "simulator" else [])
