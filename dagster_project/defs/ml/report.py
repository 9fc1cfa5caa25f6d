"""The attribution report: figures under outputs/, linked from the metadata and logged to MLflow,
and the run summary."""

import dagster as dg
import pandas as pd

from dagster_project.defs.ml.figures import save_figure
from dagster_project.defs.ml.training import ModelInputs
from dagster_project.defs.quality.leakage_guard import latest_guard_rows
from dagster_project.settings import OUTPUT_SCHEMA, output_locations, outputs_dir
from dagster_project.tracking import MlflowTracking
from dagster_project.warehouse import WAREHOUSE_POOL
from ml.attribution import position_bucket
from ml.data import HONEST_VARIANT
from ml.reporting import (
    attribution_report_figure,
    counterfactual_figure,
    effect_rows,
    effects_figure,
    experiment_row,
    summary_model,
    summary_text,
)

FIGURE_TABLES = ("event_attribution", "event_type_attribution", "position_attribution", "counterfactual_effects")
SUMMARY_TABLES = ("model_metrics", "leaderboard", "leakage_report", "quarantine_counts", "ad_effects", "model_promotion")
TRUTH_TABLES = ("simulator_truth", "truth_scorecard")  # a simulated source's only


def build_attribution_report(zoo: ModelInputs, with_truth: bool, with_grounding: bool = False) -> dg.AssetsDefinition:
    tables = (*FIGURE_TABLES, *SUMMARY_TABLES, *(TRUTH_TABLES if with_truth else ()),
              *(("intent_grounding",) if with_grounding else ()))

    @dg.asset(
        pool=WAREHOUSE_POOL,
        key=[OUTPUT_SCHEMA, "attribution_report"],
        ins={**zoo.ins(), **{name: dg.AssetIn([OUTPUT_SCHEMA, name]) for name in tables}},
        group_name="report",
    )
    def attribution_report(context: dg.AssetExecutionContext, mlflow_tracking: MlflowTracking, **inputs):
        """The run summary (markdown and summary.txt) and its headline figure (effects.png: the
        registered model's effects in probability points beside the truth and the holdout); per
        model, variant and method a four-panel PNG (event-type lift, position lift, converted vs
        not converted, event x position heatmap); per model and variant the counterfactual
        effects next to the simulator's truth. The headline and the honest models' figures are
        inline here; every figure is in outputs/ and in its model's MLflow run."""
        read = {name: inputs[name] for name in tables}
        guard = latest_guard_rows(context.instance)
        summary = summary_text({**read, "leakage_guard": guard}, output_locations())
        (outputs_dir() / "summary.txt").write_text(summary + "\n")
        figures = {"summary": dg.MetadataValue.md(f"```\n{summary}\n```")}
        # The headline first: the summary model's effects in probability points beside the truth.
        model = summary_model(read["leaderboard"])
        if model is not None:
            headline = effect_rows(read["counterfactual_effects"], model, read.get("simulator_truth"))
            experiment = experiment_row(read["ad_effects"], read.get("simulator_truth"))
            fig = effects_figure(headline, experiment, f"What moves conversion: {model} on {HONEST_VARIANT} journeys")
            figures["effects"] = save_figure(fig, "effects.png", "effects in probability points").metadata
        events = read["event_attribution"].assign(position_bucket=lambda f: position_bucket(f["position"]))
        for trained in zoo.models(inputs):
            def rows(frame: pd.DataFrame, method: str | None = None) -> pd.DataFrame:
                keep = (frame["model"] == trained.model_name) & (frame["variant"] == trained.variant)
                return frame[keep & (frame["method"] == method)] if method else frame[keep]

            stem = f"{trained.model_name}__{trained.variant}"
            inline = trained.variant == HONEST_VARIANT  # the leaky variants' figures stay files
            saved = {}  # MLflow's name (the same in every model's run) -> the figure
            for method in rows(read["event_type_attribution"])["method"].unique():
                fig = attribution_report_figure(
                    rows(read["event_type_attribution"], method),
                    rows(read["position_attribution"], method),
                    rows(events, method),
                    title=f"{trained.model_name} on {trained.variant}: {method}",
                )
                saved[f"report__{method}.png"] = save_figure(fig, f"report_{stem}__{method}.png", inline=inline)
            fig = counterfactual_figure(
                rows(read["counterfactual_effects"]), read.get("simulator_truth"),
                title=f"Counterfactual effects: {trained.model_name} on {trained.variant}",
            )
            saved["counterfactuals.png"] = save_figure(fig, f"counterfactuals_{stem}.png", inline=inline)
            mlflow_tracking.log_figures(trained.tracking_run_id, {name: figure.path for name, figure in saved.items()})
            figures.update({figure.path.stem: figure.metadata for figure in saved.values()})
        return dg.MaterializeResult(metadata=figures)

    return attribution_report
