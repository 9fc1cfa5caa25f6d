"""The leakage report: honest and leaky variants of the same journeys, side by side."""

import dagster as dg

from dagster_project.marts import HONEST_VARIANT
from dagster_project.outputs import publish_table, save_figure
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.summary import best_honest_model
from dagster_project.warehouse import Warehouse
from ml.evaluation import leakage_comparison, top_events
from ml.reporting import leakage_comparison_figure


@dg.asset(
    key=[OUTPUT_SCHEMA, "leakage_report"],
    deps=[[OUTPUT_SCHEMA, "model_metrics"], [OUTPUT_SCHEMA, "counterfactual_effects"]],
    group_name="report",
)
def leakage_report(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Test AUC and top attributed events of `with_funnel`, `funnel_excluded_only` (funnel types
    removed, no cut at conversion: the seeds' way) and the honest `no_funnel`, trained on the same
    journeys. Only the honest variant can be promoted."""
    metrics = warehouse.read_table(f"{OUTPUT_SCHEMA}.model_metrics")
    effects = warehouse.read_table(f"{OUTPUT_SCHEMA}.counterfactual_effects")
    table = leakage_comparison(metrics, effects)
    table.insert(0, "run_id", context.run_id)
    table["can_be_promoted"] = table["variant"] == HONEST_VARIANT
    model = best_honest_model(metrics)
    tops = top_events(effects, n_top=4)
    figure = leakage_comparison_figure(table, tops[tops["model"] == model])
    return dg.MaterializeResult(
        metadata={
            **publish_table(warehouse, "leakage_report", table, preview_rows=len(table)),
            "figure": dg.MetadataValue.path(save_figure(figure, "leakage_report.png")),
        }
    )
