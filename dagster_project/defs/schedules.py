"""The main job over the whole graph, the partitioned daily job, and its daily refresh."""

import dagster as dg

from dagster_project.partitions import DAILY_GROUP


def jobs_and_schedules() -> dg.Definitions:
    journeylift_job = dg.define_asset_job(
        "journeylift",
        selection=dg.AssetSelection.all() - dg.AssetSelection.groups(DAILY_GROUP),
        description="Raw data -> dbt marts -> leakage guard -> training -> attribution -> counterfactuals -> report.",
    )
    journeylift_daily_job = dg.define_asset_job(
        "journeylift_daily",
        selection=dg.AssetSelection.groups(DAILY_GROUP),
        description="One event-date partition (a backfill: a range, in one run): the simulator's events of those "
        "dates into raw, then dbt staging and intermediate incrementally and the marts.",
    )
    # At 03:00 UTC the newest partition is yesterday's (a daily partition ends at midnight).
    daily_refresh = dg.build_schedule_from_partitioned_job(
        journeylift_daily_job,
        name="daily_refresh",
        hour_of_day=3,
        minute_of_hour=0,
        description="Every day at 03:00 UTC: materialize yesterday's event-date partition (journeylift_daily).",
    )
    return dg.Definitions(jobs=[journeylift_job, journeylift_daily_job], schedules=[daily_refresh])
