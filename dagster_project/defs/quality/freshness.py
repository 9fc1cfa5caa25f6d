"""Freshness: the marts, the scores and the attribution history are stale when not updated within
a day and two hours of slack (the daily refresh runs at 03:00 UTC), shown as stale in the UI;
a sensor evaluates the checks between runs."""

import warnings
from datetime import timedelta

import dagster as dg

from dagster_project.defs.dbt.assets import LABELS_MODEL, dbt_model_key, sequences_model
from dagster_project.defs.ml.history import HISTORY_KEY
from dagster_project.settings import OUTPUT_SCHEMA
from ml.data import HONEST_VARIANT

FRESHNESS_DEADLINE = timedelta(hours=26)


def freshness_definitions() -> dg.Definitions:
    # Dagster 1.13 marks these "superseded" by FreshnessPolicy, whose evaluation needs the
    # instance's freshness daemon; checks and their sensor work on any instance and in tests.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        checks = dg.build_last_update_freshness_checks(
            assets=[
                dbt_model_key(LABELS_MODEL),
                dbt_model_key(sequences_model(HONEST_VARIANT)),
                dg.AssetKey([OUTPUT_SCHEMA, "journey_scores"]),
                HISTORY_KEY,
            ],
            lower_bound_delta=FRESHNESS_DEADLINE,
        )
        sensor = dg.build_sensor_for_freshness_checks(freshness_checks=checks, name="freshness_checks_sensor")
    return dg.Definitions(asset_checks=checks, sensors=[sensor])
