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
GROUNDING_TABLE = "intent_grounding"  # when latent_intent is trained


def build_truth_scorecard(with_grounding: bool) -> dg.AssetsDefinition:
    """The scorecard asset; with `with_grounding` it scores the latent-intent model's grounded
    effects (intent_grounding) too."""
    scored = (*SCORED_TABLES, *((GROUNDING_TABLE,) if with_grounding else ()))

    @dg.asset(
        pool=WAREHOUSE_POOL,
        key=[OUTPUT_SCHEMA, "truth_scorecard"],
        ins={name: dg.AssetIn([OUTPUT_SCHEMA, name]) for name in (*scored, *TRUTH_TABLES)},
        group_name="report",
    )
    def truth_scorecard(context: dg.AssetExecutionContext, **tables: pd.DataFrame) -> dg.Output[pd.DataFrame]:
        """For each model and method (how its effects were read: `counterfactual` = remove and
        re-predict, `abduction` = intent held, `abduction_grounded` = intent held with its strength
        fitted to the randomized holdout, `randomized_holdout`): Spearman and Kendall of the
        `remove_event:<event>` effects (and of the event-type lifts) with the true removal effects,
        their error in size and their sign accuracy, the error of position estimates against the
        true position weights, and the relative error of the ad effects against the truth. Only
        the honest variant is scored: the leaky ones exist to show leakage, not to be believed."""

        def honest(name: str) -> pd.DataFrame | None:
            frame = tables.get(name)
            return None if frame is None else frame[frame["variant"] == HONEST_VARIANT]

        scorecard = score_against_truth(
            honest("event_type_attribution"),
            scored_effects(honest("counterfactual_effects"), honest("ad_effects"), honest(GROUNDING_TABLE)),
            honest("position_attribution"),
            tables["simulator_truth"],
            position_weights=tables["simulator_position_weights"],
        )
        scorecard.insert(0, "run_id", context.run_id)
        return dg.Output(scorecard, metadata={
            "best": dg.MetadataValue.md(best_of_scorecard(scorecard).to_markdown(index=False)),
            "figure": save_figure(scorecard_figure(scorecard), "truth_scorecard.png").metadata,
        })

    return truth_scorecard
