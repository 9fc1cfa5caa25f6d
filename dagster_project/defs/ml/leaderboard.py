"""The leaderboard of every model x variant, and the promotion of the best honest model."""

import dagster as dg
import mlflow
import pandas as pd

from dagster_project.defs.ml.evaluation import MODEL_INS
from dagster_project.defs.quality.leakage_guard import NO_FUNNEL_SEQUENCES
from dagster_project.marts import HONEST_VARIANT
from dagster_project.outputs import publish_table, save_figure
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.tracking import MlflowTracking
from dagster_project.trained import TrainedJourneyModel
from dagster_project.warehouse import Warehouse
from ml.evaluation import leaderboard, leaderboard_row, promotion_candidate
from ml.reporting import leaderboard_figure

REGISTERED_MODEL_NAME = "journeylift-conversion"
GUARD = dg.AssetCheckKey(NO_FUNNEL_SEQUENCES, "no_funnel_leakage_guard")


def guard_passed(instance: dg.DagsterInstance) -> bool:
    """Did the latest evaluation of the blocking leakage guard pass?"""
    record = instance.get_latest_asset_check_evaluation_record(GUARD)
    if record is None or record.event is None or record.event.dagster_event is None:
        return False
    return bool(record.event.dagster_event.event_specific_data.passed)


@dg.asset(key=[OUTPUT_SCHEMA, "leaderboard"], ins=MODEL_INS, group_name="evaluation", kinds={"mlflow"})
def model_leaderboard(
    context: dg.AssetExecutionContext, warehouse: Warehouse, mlflow_tracking: MlflowTracking,
    **models: TrainedJourneyModel,
):
    """Every model x variant: test AUC, log loss, expected calibration error, train seconds and
    events/s. The best honest (no_funnel) model by validation AUC is registered in MLflow's
    registry only when the leakage guard passed and it beats `logreg_counts`."""
    rows = [leaderboard_row(m.model_name, m.variant, m.metrics, m.history, m.train_seconds) for m in models.values()]
    board = leaderboard(rows)
    model_uris = {(m.model_name, m.variant): m.mlflow_model_uri for m in models.values()}
    promotion = promotion_candidate(board, guard_passed(context.instance), honest_variant=HONEST_VARIANT)
    version = None
    if promotion.model is not None:
        mlflow_tracking.use()
        version = mlflow.register_model(model_uris[(promotion.model, HONEST_VARIANT)], REGISTERED_MODEL_NAME).version
        context.log.info(f"registered {REGISTERED_MODEL_NAME} v{version}: {promotion.reason}")
    else:
        context.log.warning(f"no model registered: {promotion.reason}")
    table = pd.concat([pd.DataFrame({"run_id": context.run_id}, index=board.index), board], axis=1)
    table["is_promoted"] = (table["model"] == promotion.model) & (table["variant"] == HONEST_VARIANT)
    metadata = publish_table(warehouse, "leaderboard", table, preview_rows=len(table))
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "figure": dg.MetadataValue.path(save_figure(leaderboard_figure(board), "leaderboard.png")),
            "promoted": promotion.model or "none",
            "promotion_reason": promotion.reason,
            "registered_version": str(version) if version else "none",
        }
    )
