"""The leaderboard of every model x variant, and the promotion of the best honest model."""

import dagster as dg
import mlflow
import pandas as pd

from dagster_project.defs.ml.figures import save_figure
from dagster_project.defs.ml.training import ModelInputs
from dagster_project.defs.quality.leakage_guard import guard_passed
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.tracking import REGISTERED_MODEL, MlflowTracking, model_version_url
from dagster_project.warehouse import WAREHOUSE_POOL
from ml.data import HONEST_VARIANT
from ml.evaluation import leaderboard, leaderboard_row, promotion_candidate
from ml.reporting import leaderboard_figure

def build_leaderboard(zoo: ModelInputs) -> dg.AssetsDefinition:
    @dg.asset(pool=WAREHOUSE_POOL, key=[OUTPUT_SCHEMA, "leaderboard"], ins=zoo.ins(), group_name="evaluation", kinds={"mlflow"},
              metadata={"preview_rows": 100})
    def model_leaderboard(
        context: dg.AssetExecutionContext, mlflow_tracking: MlflowTracking, **inputs
    ) -> dg.Output[pd.DataFrame]:
        """Every model x variant: test AUC, log loss, expected calibration error, train seconds and
        events/s. The best honest (no_funnel) model by validation AUC is registered in MLflow's
        registry only when the leakage guard passed and it beats `logreg_counts`
        (ml.evaluation.promotion_candidate, the one promotion rule)."""
        models = zoo.models(inputs)
        board = leaderboard([leaderboard_row(m.model_name, m.variant, m.metrics, m.history, m.train_seconds)
                             for m in models])
        model_uris = {(m.model_name, m.variant): m.tracking_model_uri for m in models}
        promotion = promotion_candidate(board, guard_passed(context.instance))
        version = None
        if promotion.model is not None:
            mlflow_tracking.use()
            version = mlflow.register_model(model_uris[(promotion.model, HONEST_VARIANT)], REGISTERED_MODEL).version
            mlflow_tracking.describe_version(version, f"Registered by journeylift's promotion rule: {promotion.reason}.",
                                             {"model": promotion.model, "variant": HONEST_VARIANT,
                                              "dagster_run_id": context.run_id})
            context.log.info(f"registered {REGISTERED_MODEL} v{version}: {promotion.reason}")
        else:
            context.log.warning(f"no model registered: {promotion.reason}")
        table = pd.concat([pd.DataFrame({"run_id": context.run_id}, index=board.index), board], axis=1)
        table["is_promoted"] = (table["model"] == promotion.model) & (table["variant"] == HONEST_VARIANT)
        return dg.Output(table, metadata={
            "figure": save_figure(leaderboard_figure(board), "leaderboard.png").metadata,
            "promoted": promotion.model or "none",
            "promotion_reason": promotion.reason,
            "registered_version": dg.MetadataValue.url(model_version_url(version)) if version else "none",
        })

    return model_leaderboard
