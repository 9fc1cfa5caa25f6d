"""Event-date partitions: one per UTC day of event time, for the daily refresh and backfills.

A run's partition (or a backfill's range of them, in one run) reaches dbt as the vars
`partition_start` / `partition_end` (dates, the end excluded); dbt/macros/partition_window.sql
says what the incremental staging and intermediate models rebuild for them. The partitions
start at JOURNEYLIFT_FIRST_EVENT_DATE (default: the simulator's first day) and end yesterday.
"""

from __future__ import annotations

import os
from datetime import date, datetime

import dagster as dg

FIRST_EVENT_DATE_ENV = "JOURNEYLIFT_FIRST_EVENT_DATE"
DAILY_GROUP = "daily"  # the partitioned assets; the `journeylift` job leaves them out


def first_event_date() -> str:
    """The first partition's date: JOURNEYLIFT_FIRST_EVENT_DATE, or the simulator's first day."""
    from ml.simulate import SimulationConfig

    value = os.environ.get(FIRST_EVENT_DATE_ENV, "").strip() or SimulationConfig().start
    try:
        date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"{FIRST_EVENT_DATE_ENV}={value!r} is not a date YYYY-MM-DD") from error
    return value


EVENT_DATES = dg.DailyPartitionsDefinition(start_date=first_event_date(), timezone="UTC")


def partition_dbt_vars(start: datetime, end: datetime) -> dict[str, str]:
    """dbt vars for the dates [start, end) of a partition time window."""
    return {"partition_start": start.strftime("%Y-%m-%d"), "partition_end": end.strftime("%Y-%m-%d")}


def window_dates(window: dg.TimeWindow) -> tuple[datetime, datetime]:
    """A partition time window as naive UTC datetimes, like the raw contract's timestamps."""
    return window.start.replace(tzinfo=None), window.end.replace(tzinfo=None)
