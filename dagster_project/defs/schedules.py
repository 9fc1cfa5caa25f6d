"""The main job over the whole graph, and its daily refresh."""

import dagster as dg

journeylift_job = dg.define_asset_job(
    "journeylift",
    selection=dg.AssetSelection.all(),
    description="Raw data -> dbt marts -> leakage guard -> training -> attribution -> counterfactuals -> report.",
)

daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=journeylift_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    description="Rebuild the whole graph every day at 03:00 UTC.",
)
