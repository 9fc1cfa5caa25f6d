"""The champion model and the journeys it scores.

`model_promotion`: the model the leaderboard registered this run is the `challenger` (an MLflow
alias); it becomes `champion` only when the leakage guard passed and it beats the champion on the
same recent test journeys (ml.evaluation.champion_decision). `journey_scores`: the champion's
p(convert) for every journey of the newest event date and every open one.
"""

import dagster as dg
import pandas as pd

from dagster_project.defs.dbt.assets import LABELS_MODEL, dbt_model_key, sequences_model
from dagster_project.defs.ml.training import ModelInputs
from dagster_project.defs.quality.leakage_guard import guard_passed
from dagster_project.settings import OUTPUT_SCHEMA, Source, dbt_vars
from dagster_project.tracking import REGISTERED_MODEL, MlflowTracking, model_version_url
from dagster_project.warehouse import WAREHOUSE_POOL
from ml.contract import AD_FUNNEL
from ml.data import HONEST_VARIANT
from ml.evaluation import (
    CHALLENGER,
    CHAMPION,
    champion_decision,
    encoding_dict,
    journeys_to_score,
    recent_test_journeys,
    score_journeys,
    window_auc,
)

HONEST_INS = {
    "sequences": dg.AssetIn(dbt_model_key(sequences_model(HONEST_VARIANT))),
    "labels": dg.AssetIn(dbt_model_key(LABELS_MODEL)),
}


class PromotionConfig(dg.Config):
    """The recent test window both models are scored on: test journeys started in its last days."""

    recent_days: int = 7


class ScoringConfig(dg.Config):
    """An unconverted journey is open (scored though not on the newest day) while its last event
    is less than this many minutes old; default: the session gap, or the attribution window for
    the ad-funnel simulator (dbt vars)."""

    open_minutes: int | None = None


def open_minutes(source: Source) -> int:
    project = dbt_vars()
    if source.kind == "simulator" and source.domain == AD_FUNNEL:
        return int(project["attribution_window_days"]) * 24 * 60
    return int(project["session_gap_minutes"])


def build_scoring(zoo: ModelInputs, source: Source) -> list[dg.AssetsDefinition]:
    honest = zoo.only(HONEST_VARIANT)

    @dg.asset(key=[OUTPUT_SCHEMA, "model_promotion"], pool=WAREHOUSE_POOL, group_name="scoring", kinds={"mlflow"},
              ins={"leaderboard": dg.AssetIn([OUTPUT_SCHEMA, "leaderboard"]), **HONEST_INS, **honest.ins()})
    def model_promotion(context: dg.AssetExecutionContext, config: PromotionConfig, mlflow_tracking: MlflowTracking,
                        leaderboard: pd.DataFrame, sequences: pd.DataFrame, labels: pd.DataFrame,
                        **inputs) -> dg.Output[pd.DataFrame]:
        """The champion decision of this run: the newly registered honest model (alias `challenger`)
        and the champion scored on the same recent test journeys; the challenger becomes
        `champion` only when the leakage guard passed and its AUC is higher. One row: both
        versions and AUCs, the decision and its reason."""
        promoted = leaderboard[leaderboard["is_promoted"]]
        trained = {m.model_name: m for m in honest.models(inputs)}
        challenger = trained[str(promoted["model"].iloc[0])] if not promoted.empty else None
        challenger_version = mlflow_tracking.version_of_run(challenger.tracking_run_id) if challenger else None
        champion_version = mlflow_tracking.alias_version(CHAMPION)
        window = recent_test_journeys(labels, config.recent_days)
        converted = labels.set_index("journey_id").loc[window, "converted"].fillna(False).to_numpy(bool)
        challenger_auc = champion_auc = float("nan")
        champion_model = None
        if challenger_version:
            mlflow_tracking.set_alias(CHALLENGER, challenger_version)
            encoding = encoding_dict(challenger.vocabularies, challenger.max_len)
            challenger_auc = window_auc(score_journeys(challenger.model, sequences, labels, encoding, window), converted)
        if champion_version:
            champion = mlflow_tracking.load_version(champion_version)
            champion_model = champion.model_name
            champion_auc = window_auc(score_journeys(champion.model, sequences, labels, champion.encoding, window),
                                      converted)
        decision = champion_decision(
            guard_passed(context.instance),
            f"{challenger.model_name} v{challenger_version}" if challenger_version else None, challenger_auc,
            f"{champion_model} v{champion_version}" if champion_version else None, champion_auc,
        )
        if decision.promote:
            mlflow_tracking.set_alias(CHAMPION, challenger_version)
        (context.log.info if decision.promote else context.log.warning)(decision.reason)
        row = pd.DataFrame([{
            "run_id": context.run_id,
            "window_end": pd.Timestamp(labels["journey_started_at"].max()).normalize() if len(labels) else None,
            "n_window_journeys": len(window),
            "challenger_model": challenger.model_name if challenger_version else None,
            "challenger_version": challenger_version,
            "challenger_auc": challenger_auc,
            "previous_champion_model": champion_model,
            "previous_champion_version": champion_version,
            "previous_champion_auc": champion_auc,
            "promoted": decision.promote,
            "champion_version": challenger_version if decision.promote else champion_version,
            "reason": decision.reason,
        }])
        serving = row["champion_version"].iloc[0]
        return dg.Output(row, metadata={
            "champion_version": dg.MetadataValue.url(model_version_url(str(serving))) if pd.notna(serving) else "none",
            "promoted": decision.promote,
            "reason": decision.reason,
            "registered_model": REGISTERED_MODEL,
        })

    @dg.asset(key=[OUTPUT_SCHEMA, "journey_scores"], pool=WAREHOUSE_POOL, group_name="scoring", kinds={"mlflow"},
              ins={"model_promotion": dg.AssetIn([OUTPUT_SCHEMA, "model_promotion"]), **HONEST_INS},
              metadata={"file_format": "parquet"})
    def journey_scores(context: dg.AssetExecutionContext, config: ScoringConfig, mlflow_tracking: MlflowTracking,
                       model_promotion: pd.DataFrame, sequences: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
        """p(convert) by the champion (MLflow alias `champion`) for every journey with an event on
        the newest event date, and every open one (unconverted, its last event recent), with the
        model, its version and the scoring date. Empty, with a warning, before any champion."""
        journeys = journeys_to_score(sequences, labels, config.open_minutes or open_minutes(source))
        version = mlflow_tracking.alias_version(CHAMPION)
        if version is None:
            context.log.warning("no champion model yet: nothing scored (see model_promotion's reason)")
            journeys = journeys.iloc[0:0]
            model_name = None
        else:
            champion = mlflow_tracking.load_version(version)
            model_name = champion.model_name
            journeys["p_convert"] = score_journeys(
                champion.model, sequences, labels, champion.encoding, journeys["journey_id"].to_numpy()
            )
        scores = journeys.assign(model=model_name, model_version=version, scored_at=pd.Timestamp.now("UTC").tz_localize(None))
        if "p_convert" not in scores:
            scores["p_convert"] = pd.Series(dtype=float)
        context.log.info(f"{len(scores):,} journeys scored by {model_name} v{version} "
                         f"({int(scores['on_newest_day'].sum()):,} of the newest day, {int(scores['is_open'].sum()):,} open)")
        return scores

    return [model_promotion, journey_scores]
