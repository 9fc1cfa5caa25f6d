"""The one job over the whole graph and its daily refresh.

The job is partitioned by event date (its raw events and incremental dbt models are; everything
downstream is not and reads every date). The schedule runs it each morning for yesterday's
date: that day's events into the incremental models, then the marts, the leakage guard,
training, scoring, attribution, counterfactuals and the report. `journeylift run` runs it over
every date at once (the whole history), `journeylift backfill` over a range.
"""

import dagster as dg

JOB_NAME = "journeylift"


def jobs_and_schedules() -> dg.Definitions:
    journeylift_job = dg.define_asset_job(
        JOB_NAME,
        selection=dg.AssetSelection.all(),
        description="Raw events of the run's dates -> dbt (incremental, then the marts) -> leakage guard -> "
        "training -> scoring -> attribution -> counterfactuals -> report.",
    )
    # At 03:00 UTC the newest partition is yesterday's (a daily partition ends at midnight).
    daily_refresh = dg.build_schedule_from_partitioned_job(
        journeylift_job,
        name="daily_refresh",
        hour_of_day=3,
        minute_of_hour=0,
        description="Every day at 03:00 UTC: the whole graph for yesterday's events (the journeylift job's "
        "newest event-date partition).",
    )
    return dg.Definitions(jobs=[journeylift_job], schedules=[daily_refresh])
