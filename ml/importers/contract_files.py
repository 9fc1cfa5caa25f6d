"""The raw contract files an importer writes (design.md's raw contract), one Parquet file per table.

The column lists follow design.md; `dagster_project.sources.CONTRACT` checks them when a
folder is loaded (tests/test_importers.py keeps the two in step). Timestamps are written
as naive UTC, ids as text.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

CONTRACT_COLUMNS = {
    # sessions domain
    "events": [
        "event_id", "user_id", "session_id", "event_ts", "event_type", "event",
        "discovery_feature", "store_id", "is_sponsored",
    ],
    "dimension_store": ["store_id", "store_name", "primary_tag_name", "primary_category_name", "is_nv"],
    # ad-funnel domain
    "auctions_users": ["auction_id", "user_id", "auction_ts", "placement"],
    "impressions": ["impression_id", "auction_id", "user_id", "product_id", "impression_ts"],
    "clicks": ["click_id", "impression_id", "user_id", "product_id", "click_ts"],
    "purchases": ["purchase_id", "user_id", "product_id", "purchase_ts", "revenue"],
    # either domain, optional: users pinned to a split
    "user_splits": ["user_id", "split"],
}
# Optional columns, written when the importer produces them.
OPTIONAL_COLUMNS = {"events": ["is_ghost_ad"], "impressions": ["journey_id"], "clicks": ["journey_id"],
                    "purchases": ["journey_id"]}
TEXT_COLUMNS = {"event_id", "user_id", "session_id", "event_type", "event", "discovery_feature", "store_id",
                "store_name", "primary_tag_name", "primary_category_name", "auction_id", "placement",
                "impression_id", "product_id", "click_id", "purchase_id", "journey_id", "split"}


def write_contract_table(frame: pd.DataFrame, out: Path, table: str) -> int:
    """Write ``frame`` as ``out/<table>.parquet`` with exactly the contract's columns (and the
    optional ones it has); return its rows.

    A stale CSV of the same table is removed: the folder source refuses two files for one table.
    """
    columns = CONTRACT_COLUMNS[table]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table}: the importer produced no column(s) {missing}")
    columns = columns + [c for c in OPTIONAL_COLUMNS.get(table, []) if c in frame.columns]
    typed = frame[columns].copy()
    for column in columns:
        if column in TEXT_COLUMNS:
            typed[column] = typed[column].astype("string")
        elif column.endswith("_ts"):
            typed[column] = pd.to_datetime(typed[column]).astype("datetime64[us]")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{table}.csv").unlink(missing_ok=True)
    typed.to_parquet(out / f"{table}.parquet", index=False)
    return len(typed)
