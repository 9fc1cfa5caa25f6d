"""Every attribution scored against the simulator's truth (simulated sources only)."""

import dagster as dg
import pandas as pd

from dagster_project.defs.ml.figures import save_figure
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.warehouse import WAREHOUSE_POOL
from ml.data import HONEST_VARIANT
from ml.evaluation import best_of_scorecard, scored_effects
from ml.evaluation import truth_scorecard as score_against_truth
from ml.reporting import scorecard_figure

SCORED_TABLES = ("event_type_attribution", "position_attribution", "counterfactual_effects", "ad_effects")
TRUTH_TABLES = ("simulator_truth", "simulator_position_weights")


@dg.asset(
    pool=WAREHOUSE_POOL,
    key=[OUTPUT_SCHEMA, "truth_scorecard"],
    ins={name: dg.AssetIn([OUTPUT_SCHEMA, name]) for name in (*SCORED_TABLES, *TRUTH_TABLES)},
    group_name="report",
)
def truth_scorecard(
    context: dg.AssetExecutionContext, event_type_attribution: pd.DataFrame, position_attribution: pd.DataFrame,
    counterfactual_effects: pd.DataFrame, ad_effects: pd.DataFrame, simulator_truth: pd.DataFrame,
    simulator_position_weights: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """For each model and method: Spearman of event-type lifts and of `remove_event:<event>`
    counterfactuals with the true removal effects, the error of position estimates against the
    true position weights, and the relative error of the ad effects (removal, and the holdout
    experiment's estimand) against the truth. Only the honest variant is scored: the leaky ones
    exist to show leakage, not to be believed."""

    def honest(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["variant"] == HONEST_VARIANT]

    scorecard = score_against_truth(
        honest(event_type_attribution),
        scored_effects(honest(counterfactual_effects), honest(ad_effects)),
        honest(position_attribution),
        simulator_truth,
        position_weights=simulator_position_weights,
    )
    scorecard.insert(0, "run_id", context.run_id)
    return dg.Output(scorecard, metadata={
        "best": dg.MetadataValue.md(best_of_scorecard(scorecard).to_markdown(index=False)),
        "figure": save_figure(scorecard_figure(scorecard), "truth_scorecard.png").metadata,
    })
