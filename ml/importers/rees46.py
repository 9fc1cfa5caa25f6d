"""REES46 multi-category store log (CSV) -> the sessions domain: events and dimension_store.

Columns: event_time ("2019-10-01 00:00:00 UTC"), event_type (view / cart / remove_from_cart /
purchase), product_id, category_id, category_code, brand, price, user_id, user_session.
user_session is REES46's own session id, so it becomes session_id. The brand plays the store
(the supplier a shopper picks between, and who pays for placements); its most frequent
category goes into dimension_store. An input row is one CSV data row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ml.importers.contract_files import write_contract_table
from ml.importers.registry import register
from ml.importers.report import ImportReport, first_reasons

DATA_FILE = "user_behavior_sample.csv"
REQUIRED_COLUMNS = ["event_time", "event_type", "category_code", "brand", "user_id", "user_session"]
TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
# REES46 event_type -> (event_type, event): every cart action is a funnel event, a purchase converts.
EVENT_MAP = {
    "view": ("product_view", "view"),
    "cart": ("funnel", "cart"),
    "remove_from_cart": ("funnel", "remove_from_cart"),
    "purchase": ("funnel", "purchase"),
}
NO_METADATA = "unknown"  # a brand whose events never carry a category_code


def most_frequent(values: pd.Series) -> str:
    """The most frequent non-null value (ties: the alphabetically first), or NO_METADATA."""
    counts = values.dropna().value_counts()
    if counts.empty:
        return NO_METADATA
    return sorted(counts[counts == counts.max()].index)[0]


def open_sessions(events: pd.DataFrame, at: pd.Series, gap_minutes: int) -> pd.Series:
    """Rows whose session's last event lies within ``gap_minutes`` of the sample's last event:
    the sample is a time window, so such a session may go on (and convert) after it."""
    session = events["user_session"].fillna("user:" + events["user_id"].astype(str))
    last = at.groupby(session).transform("max")
    return last >= at.max() - pd.Timedelta(minutes=gap_minutes)


@register("rees46")
def import_rees46(source: Path, out: Path, drop_open_sessions: bool = False,
                  open_session_minutes: int = 30) -> ImportReport:
    """`source` is a REES46 monthly CSV (or a folder holding the sample). Sessions still open at
    the sample's end are kept (and counted in a note) unless ``drop_open_sessions``."""
    path = source / DATA_FILE if source.is_dir() else source
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"rees46: {path} has no column(s) {missing}")
    raw.index = pd.RangeIndex(1, len(raw) + 1)  # the data row number: the event id
    report = ImportReport("rees46", str(path), input_rows=len(raw))
    event_at = pd.to_datetime(raw["event_time"], format=TIME_FORMAT, errors="coerce")
    reasons = first_reasons(raw.index, [
        ("missing_user_id", raw["user_id"].isna()),
        ("unparseable_event_time", event_at.isna()),
        ("unknown_event_type", ~raw["event_type"].isin(list(EVENT_MAP))),
        ("duplicate_row", raw.duplicated(keep="first")),  # the same event logged twice
    ])
    passing = reasons.isna()
    still_open = open_sessions(raw[passing], event_at[passing], open_session_minutes).reindex(raw.index, fill_value=False)
    n_open_sessions = raw.loc[still_open, "user_session"].nunique()
    if drop_open_sessions:
        reasons = reasons.mask(passing & still_open, "session_open_at_sample_end")
    report.add_unmapped(reasons)
    events = raw[reasons.isna()]
    event_at = event_at[reasons.isna()]

    mapped = events["event_type"].map(EVENT_MAP)
    frame = pd.DataFrame({
        "event_id": "rees46-" + events.index.astype(str),
        "user_id": events["user_id"],
        "session_id": events["user_session"],
        "event_ts": event_at,  # the format's literal "UTC": naive UTC, as the contract wants
        "event_type": mapped.str[0],
        "event": mapped.str[1],
        "discovery_feature": None,
        "store_id": events["brand"],
        "is_sponsored": False,
    })
    branded = events.dropna(subset=["brand"]).assign(top_category=lambda e: e["category_code"].str.split(".").str[0])
    stores = branded.groupby("brand").agg(
        primary_tag_name=("category_code", most_frequent), primary_category_name=("top_category", most_frequent)
    ).reset_index()
    stores = stores.assign(store_id=stores["brand"], store_name=stores["brand"], is_nv=False)
    report.tables["events"] = write_contract_table(frame, out, "events")
    report.tables["dimension_store"] = write_contract_table(stores, out, "dimension_store")
    report.notes += [
        f"user_session -> session_id ({frame['session_id'].nunique():,} sessions); "
        f"{(frame['event'] == 'purchase').sum():,} purchase events (the conversion)",
        f"{len(stores):,} brands play the store; {frame['store_id'].isna().sum():,} events without a brand "
        "keep a null store_id (NO_STORE)",
        f"{n_open_sessions:,} sessions end within {open_session_minutes} minutes of the sample's last event "
        "(the sample is a time window): their label is right-censored; "
        + ("dropped (drop_open_sessions)" if drop_open_sessions else "kept"),
    ]
    return report
