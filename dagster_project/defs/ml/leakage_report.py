"""The leakage report: honest and leaky variants of the same journeys, side by side."""

import dagster as dg
import pandas as pd

from dagster_project.defs.ml.figures import save_figure
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.warehouse import WAREHOUSE_POOL
from ml.data import HONEST_VARIANT, VARIANTS
from ml.evaluation import best_honest_model, leakage_comparison, top_events
from ml.reporting import leakage_comparison_figure


@dg.asset(
    pool=WAREHOUSE_POOL,
    key=[OUTPUT_SCHEMA, "leakage_report"],
    ins={name: dg.AssetIn([OUTPUT_SCHEMA, name]) for name in ("model_metrics", "counterfactual_effects", "leaderboard")},
    group_name="report",
    metadata={"preview_rows": 100},
)
def leakage_report(
    context: dg.AssetExecutionContext, model_metrics: pd.DataFrame, counterfactual_effects: pd.DataFrame,
    leaderboard: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Test AUC and top attributed events of `with_funnel`, `funnel_excluded_only` (funnel types
    removed, no cut at conversion: the leak of a sequence not cut at the order) and the honest
    `no_funnel`, trained on the same journeys, for the families trained on all three
    (JOURNEYLIFT_LEAKAGE_MODELS). Only the honest variant can be promoted; the figure follows the
    best of those families on the honest variant (ml.evaluation.best_honest_model)."""
    table = leakage_comparison(model_metrics, counterfactual_effects)
    every_variant = table.groupby("model")["variant"].nunique() == len(VARIANTS)
    table = table[table["model"].isin(every_variant[every_variant].index)].reset_index(drop=True)
    table.insert(0, "run_id", context.run_id)
    table["can_be_promoted"] = table["variant"] == HONEST_VARIANT
    model = best_honest_model(leaderboard[leaderboard["model"].isin(table["model"])])
    tops = top_events(counterfactual_effects, n_top=4)
    figure = leakage_comparison_figure(table, tops[tops["model"] == model])
    return dg.Output(table, metadata={"figure": save_figure(figure, "leakage_report.png").metadata})
