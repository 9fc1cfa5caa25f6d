"""The attribution report: figures under outputs/, linked from the metadata and logged to MLflow."""

import dagster as dg
import pandas as pd

from dagster_project.defs.ml.evaluation import MODEL_INS
from dagster_project.outputs import save_figure
from dagster_project.settings import OUTPUT_SCHEMA, outputs_dir
from dagster_project.summary import summary_text
from dagster_project.tracking import MlflowTracking
from dagster_project.trained import TrainedJourneyModel
from dagster_project.warehouse import Warehouse
from ml.attribution import position_bucket
from ml.reporting import attribution_report_figure, counterfactual_figure

REPORT_TABLES = ("event_attribution", "event_type_attribution", "position_attribution", "counterfactual_effects")
TRUTH = "simulator_truth"


def _read_optional(warehouse: Warehouse, table: str) -> pd.DataFrame | None:
    with warehouse.connect(read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [OUTPUT_SCHEMA, table],
        ).fetchall()[0][0]
        return con.sql(f"select * from {OUTPUT_SCHEMA}.{table}").df() if exists else None


@dg.asset(
    key=[OUTPUT_SCHEMA, "attribution_report"],
    ins=MODEL_INS,
    deps=[[OUTPUT_SCHEMA, t] for t in (*REPORT_TABLES, "model_metrics", "leaderboard", "leakage_report", TRUTH)],
    group_name="report",
)
def attribution_report(
    context: dg.AssetExecutionContext, warehouse: Warehouse, mlflow_tracking: MlflowTracking,
    **models: TrainedJourneyModel,
):
    """Per model, variant and method a four-panel PNG (event-type lift, position lift, converted
    vs not converted, event x position heatmap); per model and variant the counterfactual effects
    next to the simulator's truth; the run summary as markdown."""
    tables = {t: warehouse.read_table(f"{OUTPUT_SCHEMA}.{t}") for t in REPORT_TABLES}
    truth = _read_optional(warehouse, TRUTH)
    events = tables["event_attribution"].assign(position_bucket=lambda f: position_bucket(f["position"]))
    figures = {}
    for trained in models.values():
        def rows(name, frame=None, method=None):
            frame = tables[name] if frame is None else frame
            keep = (frame["model"] == trained.model_name) & (frame["variant"] == trained.variant)
            return frame[keep & (frame["method"] == method)] if method else frame[keep]

        stem = f"{trained.model_name}__{trained.variant}"
        paths = []
        for method in rows("event_type_attribution")["method"].unique():
            fig = attribution_report_figure(
                rows("event_type_attribution", method=method),
                rows("position_attribution", method=method),
                rows("event_attribution", frame=events, method=method),
                title=f"{trained.model_name} on {trained.variant}: {method}",
            )
            paths.append(save_figure(fig, f"report_{stem}__{method}.png"))
        fig = counterfactual_figure(
            rows("counterfactual_effects"), truth, title=f"Counterfactual effects: {trained.model_name} on {trained.variant}"
        )
        paths.append(save_figure(fig, f"counterfactuals_{stem}.png"))
        mlflow_tracking.log_figures([trained.mlflow_run_id], paths)
        figures.update({p.rsplit("/", 1)[-1]: dg.MetadataValue.path(p) for p in paths})
    summary = summary_text(outputs_dir())
    (outputs_dir() / "summary.txt").write_text(summary + "\n")
    return dg.MaterializeResult(metadata={**figures, "summary": dg.MetadataValue.md(f"```\n{summary}\n```")})
