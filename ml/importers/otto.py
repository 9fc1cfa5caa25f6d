"""OTTO recsys sessions (JSON Lines) -> the sessions domain: events and dimension_store.

One line is `{"session": int, "events": [{"aid": int, "ts": unix ms, "type": "clicks" | "carts" |
"orders"}]}`. An OTTO "session" is one anonymised user over four weeks, so it becomes the
user_id and session_id stays null: journeylift sessionizes the user's events by inactivity.
The article (aid) is the only thing an event is about, so it plays the store. An input row
is one event; a line that cannot be read at all counts as one row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ml.importers.contract_files import write_contract_table
from ml.importers.registry import register
from ml.importers.report import ImportReport, first_reasons

DATA_FILE = "train.jsonl"
# OTTO type -> (event_type, event): carts and orders are funnel events, an order converts.
EVENT_MAP = {
    "clicks": ("product_click", "click"),
    "carts": ("funnel", "cart"),
    "orders": ("funnel", "purchase"),
}
NO_METADATA = "unknown"  # OTTO publishes no article names or categories


def _is_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_events(path: Path) -> tuple[pd.DataFrame, int]:
    """One row per event (line, session, index, aid, ts, type, is_object) and the count of unreadable lines."""
    rows, unreadable = [], 0
    with open(path, encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            if not line.strip():
                continue  # a blank line holds no event
            try:
                record = json.loads(line)
                session, events = record["session"], record["events"]
            except (json.JSONDecodeError, KeyError, TypeError):
                unreadable += 1
                continue
            if not _is_integer(session) or not isinstance(events, list):
                unreadable += 1
                continue
            for index, event in enumerate(events):
                is_object = isinstance(event, dict)
                event = event if is_object else {}
                rows.append({"line": line_number, "session": session, "index": index, "aid": event.get("aid"),
                             "ts": event.get("ts"), "type": event.get("type"), "is_object": is_object})
    columns = ["line", "session", "index", "aid", "ts", "type", "is_object"]
    # object dtype: a missing aid must not turn the other aids into floats
    return pd.DataFrame(rows, columns=columns, dtype=object), unreadable


@register("otto")
def import_otto(source: Path, out: Path) -> ImportReport:
    """`source` is OTTO's `train.jsonl` (or a folder holding it)."""
    path = source / DATA_FILE if source.is_dir() else source
    raw, unreadable = read_events(path)
    report = ImportReport("otto", str(path), input_rows=len(raw) + unreadable)
    if unreadable:
        report.unmapped["unreadable_session_line"] = unreadable
    first_line = raw.groupby("session")["line"].transform("min") if len(raw) else raw["line"]
    reasons = first_reasons(raw.index, [
        ("malformed_event", ~raw["is_object"].astype(bool)),
        ("duplicate_session_line", raw["line"] != first_line),  # a session's id must be unique
        ("unknown_type", ~raw["type"].map(lambda t: isinstance(t, str) and t in EVENT_MAP).astype(bool)),
        ("missing_or_bad_aid", ~raw["aid"].map(_is_integer).astype(bool)),
        ("missing_or_bad_ts", ~raw["ts"].map(lambda t: _is_integer(t) and t > 0).astype(bool)),
    ])
    report.add_unmapped(reasons)
    events = raw[reasons.isna()]

    mapped = events["type"].map(EVENT_MAP)
    frame = pd.DataFrame({
        "event_id": "otto-" + events["session"].astype(str) + "-" + events["index"].astype(str),
        "user_id": "otto-" + events["session"].astype(str),
        "session_id": None,
        "event_ts": pd.to_datetime(events["ts"].astype("int64"), unit="ms"),
        "event_type": mapped.str[0],
        "event": mapped.str[1],
        "discovery_feature": None,
        "store_id": "aid-" + events["aid"].astype("int64").astype(str),
        "is_sponsored": False,
    })
    stores = pd.DataFrame({"store_id": sorted(frame["store_id"].unique())})
    stores = stores.assign(store_name=stores["store_id"], primary_tag_name=NO_METADATA,
                           primary_category_name=NO_METADATA, is_nv=False)
    report.tables["events"] = write_contract_table(frame, out, "events")
    report.tables["dimension_store"] = write_contract_table(stores, out, "dimension_store")
    report.notes += [
        f"{frame['user_id'].nunique()} OTTO sessions -> user_id; session_id left null, so journeylift "
        "splits each user's events into sessions at 30 minutes of inactivity",
        f"{frame['store_id'].nunique()} articles (aid) play the store; OTTO has no names or categories",
        f"{(frame['event'] == 'purchase').sum()} order events (event `purchase`, the conversion)",
    ]
    return report
