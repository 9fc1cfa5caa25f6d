"""The one entry point: the whole graph for the settings the environment names.

`build_definitions(settings)` builds it for any `Settings`, in process: which raw assets exist
follows the source, the training assets follow the model families, the guard blocks or warns.
Every piece comes from the folder under `defs/` that produces it:

    raw/        the source's raw tables (simulator or a user's contract files, checked first)
    dbt/        dbt's models and tests (incremental ones by event date, the marts whole), its docs
    quality/    the leakage guard (a blocking Great Expectations check), the quarantine counts,
                freshness checks on the marts, the scores and the history
    ml/         tensors, training, evaluation, attribution, counterfactuals, report, bidding (thin over ml/)
    schedules   the jobs and the daily refresh; resources: warehouse, dbt, MLflow, I/O managers
"""

import dagster as dg

from dagster_project.defs.dbt.assets import build_dbt_models, unwritten_sources
from dagster_project.defs.dbt.docs import build_dbt_docs
from dagster_project.defs.ml.ad_effects import ad_effects
from dagster_project.defs.ml.attribution import build_attributions
from dagster_project.defs.ml.bidding import bidding_evaluation, bidding_intervals, bidding_policies
from dagster_project.defs.ml.counterfactuals import build_counterfactuals
from dagster_project.defs.ml.evaluation import build_evaluation_assets
from dagster_project.defs.ml.faithfulness import build_faithfulness
from dagster_project.defs.ml.intent import LATENT_INTENT, build_intent_grounding
from dagster_project.defs.ml.history import attribution_history, estimates_within_previous_interval
from dagster_project.defs.ml.leaderboard import build_leaderboard
from dagster_project.defs.ml.leakage_report import leakage_report
from dagster_project.defs.ml.report import build_attribution_report
from dagster_project.defs.ml.scoring import build_scoring
from dagster_project.defs.ml.training import ModelInputs
from dagster_project.defs.ml.traits import customer_traits
from dagster_project.defs.ml.truth_scorecard import build_truth_scorecard
from dagster_project.defs.quality.freshness import freshness_definitions
from dagster_project.defs.quality.leakage_guard import build_leakage_guard
from dagster_project.defs.quality.quarantine import quarantine_counts
from dagster_project.defs.raw.source_assets import raw_assets
from dagster_project.defs.resources import resources
from dagster_project.defs.schedules import jobs_and_schedules
from dagster_project.local_storage import write_local_sqlite_without_fsync
from dagster_project.partitions import event_dates
from dagster_project.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """Every asset, check, job, schedule and resource of journeylift under `settings`."""
    source = settings.source
    simulated = source.kind == "simulator"
    zoo = ModelInputs(settings.model_families, leaky_families=settings.leaky_variant_families)
    with_grounding = LATENT_INTENT in settings.model_families  # holding intent fixed needs the latent-intent model
    grounding, grounding_check = build_intent_grounding(source) if with_grounding else (None, None)
    dates = event_dates(settings.first_event_date)
    dbt_models = build_dbt_models(source, dates)
    raw = raw_assets(source, dates)
    assets = [
        *raw,
        *unwritten_sources({key for asset in raw for key in asset.keys}),
        quarantine_counts,
        *dbt_models,
        build_dbt_docs(source, dbt_models),
        *zoo.assets(source),
        *build_evaluation_assets(zoo),
        build_leaderboard(zoo),
        *build_scoring(zoo, source),
        build_attributions(zoo),
        build_counterfactuals(zoo),
        build_faithfulness(zoo),
        ad_effects,
        attribution_history,
        leakage_report,
        build_attribution_report(zoo, with_truth=simulated, with_grounding=with_grounding),
        *([build_truth_scorecard(with_grounding)] if simulated else []),  # only a simulated source knows the truth
        *([grounding] if with_grounding else []),
        *([customer_traits] if "item2vec" in settings.model_families else []),
        bidding_policies,
        bidding_evaluation,
        bidding_intervals,
    ]
    graph = dg.Definitions(assets=assets, asset_checks=[build_leakage_guard(settings.leakage_guard), estimates_within_previous_interval,
                                                           *([grounding_check] if with_grounding else [])])
    return dg.Definitions.merge(graph, freshness_definitions(), jobs_and_schedules(), resources())


@dg.definitions
def defs() -> dg.Definitions:
    # The process that loads the graph writes its run's events: a UI-launched run's worker too.
    write_local_sqlite_without_fsync()
    return build_definitions(Settings.from_environment())
