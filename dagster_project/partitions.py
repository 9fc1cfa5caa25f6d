"""Event-date partitions: one per UTC day of event time. The raw events the simulator loads and
the incremental dbt models are partitioned by them; the marts and everything downstream are not
(they read every date).

A run's partition, or a range of them in one run (a backfill, `journeylift run`), reaches dbt as
the vars `partition_start` / `partition_end` (dates, the end excluded); dbt/macros/partition_window.sql
says what the incremental models rebuild for them. A run over every partition passes no vars:
dbt builds each model whole, exactly like a plain `dbt build`. The partitions start at
JOURNEYLIFT_FIRST_EVENT_DATE (default: the simulator's first day) and end yesterday.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg

PARTITION_TAG = "dagster/partition"
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def event_dates(first_event_date: str) -> dg.DailyPartitionsDefinition:
    """One partition per UTC day from `first_event_date` (Settings.first_event_date) to yesterday."""
    return dg.DailyPartitionsDefinition(start_date=first_event_date, timezone="UTC")


def range_tags(start: str, end: str) -> dict[str, str]:
    """Run tags for the partitions start..end (both included) in one run."""
    return {PARTITION_RANGE_START_TAG: start, PARTITION_RANGE_END_TAG: end}


def every_date_tags(partitions_def: dg.PartitionsDefinition) -> dict[str, str]:
    """Run tags for every partition in one run: the whole history."""
    keys = partitions_def.get_partition_keys()
    return range_tags(keys[0], keys[-1])


def covers_every_partition(partitions_def: dg.PartitionsDefinition, selected: dg.PartitionKeyRange) -> bool:
    """True when `selected` is every partition: the whole history."""
    keys = partitions_def.get_partition_keys()
    return selected.start == keys[0] and selected.end == keys[-1]


def partition_dbt_vars(start: datetime, end: datetime) -> dict[str, str]:
    """dbt vars for the dates [start, end) of a partition time window."""
    return {"partition_start": start.strftime("%Y-%m-%d"), "partition_end": end.strftime("%Y-%m-%d")}


def run_dbt_vars(tags: dict[str, str], partitions_def: dg.TimeWindowPartitionsDefinition) -> dict[str, str]:
    """The partition vars of a run, from its tags: its dates (a partition, or a range of them),
    or none when it covers every date (a full build) or names no date. Read from the run, not the
    asset, so the unpartitioned marts' dbt tests check the same dates the incremental models built."""
    if PARTITION_RANGE_START_TAG in tags:
        selected = dg.PartitionKeyRange(tags[PARTITION_RANGE_START_TAG], tags[PARTITION_RANGE_END_TAG])
    elif PARTITION_TAG in tags:
        selected = dg.PartitionKeyRange(tags[PARTITION_TAG], tags[PARTITION_TAG])
    else:
        return {}
    if covers_every_partition(partitions_def, selected):
        return {}
    start = partitions_def.time_window_for_partition_key(selected.start).start
    end = partitions_def.time_window_for_partition_key(selected.end).end
    return partition_dbt_vars(start, end)


def window_dates(window: dg.TimeWindow) -> tuple[datetime, datetime]:
    """A partition time window as naive UTC datetimes, like the raw contract's timestamps."""
    return window.start.replace(tzinfo=None), window.end.replace(tzinfo=None)
