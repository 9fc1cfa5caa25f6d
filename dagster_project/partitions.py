"""Event-date partitions: one per UTC day of event time, for the daily refresh and backfills.

A run's partition (or a backfill's range of them, in one run) reaches dbt as the vars
`partition_start` / `partition_end` (dates, the end excluded); dbt/macros/partition_window.sql
says what the incremental staging and intermediate models rebuild for them. The partitions
start at JOURNEYLIFT_FIRST_EVENT_DATE (default: the simulator's first day) and end yesterday.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg

DAILY_GROUP = "daily"  # the partitioned assets; the `journeylift` job leaves them out


def event_dates(first_event_date: str) -> dg.DailyPartitionsDefinition:
    """One partition per UTC day from `first_event_date` (Settings.first_event_date) to yesterday."""
    return dg.DailyPartitionsDefinition(start_date=first_event_date, timezone="UTC")


def partition_dbt_vars(start: datetime, end: datetime) -> dict[str, str]:
    """dbt vars for the dates [start, end) of a partition time window."""
    return {"partition_start": start.strftime("%Y-%m-%d"), "partition_end": end.strftime("%Y-%m-%d")}


def window_dates(window: dg.TimeWindow) -> tuple[datetime, datetime]:
    """A partition time window as naive UTC datetimes, like the raw contract's timestamps."""
    return window.start.replace(tzinfo=None), window.end.replace(tzinfo=None)
