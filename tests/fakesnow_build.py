"""`dbt build` of the journeylift project through the Snowflake adapter, against a local fakesnow server.

fakesnow (Snowflake's wire protocol over DuckDB) pins an older sqlglot than journeylift's
venv, so it runs from a venv of its own (README, "Snowflake in production"):

    python3.11 -m venv ~/.venvs/fakesnow
    ~/.venvs/fakesnow/bin/pip install dbt-core==1.11.16 dbt-snowflake==1.12.4 'fakesnow[server]==0.12.1'
    ~/.venvs/fakesnow/bin/python tests/fakesnow_build.py

tests/test_dbt_snowflake.py runs this script when FAKESNOW_PYTHON names that interpreter.
It starts a server, loads a small raw dataset into journeylift.raw (a converting session,
session-less events split by the inactivity gap, and one row per quarantine rule fakesnow
can evaluate), runs `dbt build --target fakesnow` (dbt/profiles.yml) and checks the marts
against answers worked out by hand. Exit status 0 when everything holds.

What fakesnow 0.12.1 cannot do, and how this script gets past it (none of it concerns
Snowflake itself):
- COMMENT ON / ALTER ... COMMENT with a quote in the text breaks it (persist_docs): those
  statements are made no-ops.
- to_number(x, 'XXXXXXXX') (hex, hash_to_bucket) is not implemented: rendered as DuckDB's
  cast('0x' || x as bigint) inside the fake.
- TRY_CAST of an unparseable timestamp raises instead of giving null, so no raw row here
  has a bad event_ts (the DuckDB tests cover that rule).
- Temporary tables in a database fail, so dbt unit tests are excluded (the DuckDB build runs
  them), and an incremental run (a partitioned re-run: `create temporary table`) fails; this
  is a first, full build.
- Results fetched through the connector show a null timestamp as 1970-01-01 (checks below
  count nulls in SQL instead).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import fakesnow
import fakesnow.instance
import fakesnow.transforms
import snowflake.connector
from sqlglot import exp

DBT_DIR = Path(__file__).resolve().parent.parent / "dbt"
DBT = str(Path(sys.executable).parent / "dbt")

# (event_id, user_id, session_id, event_ts, event_type, event, discovery_feature, store_id, is_sponsored)
RAW_EVENTS = [
    # u1 converts at 10:05 in s1: only c1 and c2 stay in its no_funnel sequence.
    ("c1", "u1", "s1", "2024-03-01 10:00:00", "store_impression", "m_card_view", "Core Search", "st_a", True),
    ("c2", "u1", "s1", "2024-03-01 10:01:00", "store_click", "m_card_click", "Core Search", "st_a", None),
    ("c3", "u1", "s1", "2024-03-01 10:02:00", "funnel", "action_add_item", None, "st_a", False),
    ("c4", "u1", "s1", "2024-03-01 10:05:00", "funnel", "action_place_order", None, "st_a", False),
    ("c5", "u1", "s1", "2024-03-01 10:06:00", "search", "core_search", None, None, False),
    # u2 has no session ids; the 50-minute gap makes two journeys.
    ("g1", "u2", None, "2024-03-02 09:00:00", "store_impression", "m_card_view", None, "st_b", True),
    ("g2", "u2", None, "2024-03-02 09:50:00", "store_click", "m_card_click", None, "st_b", False),
    # one row per quarantine rule fakesnow evaluates
    ("c1", "u1", "s1", "2024-03-01 10:00:30", "store_click", "m_card_click", None, "st_a", False),  # duplicate_event_id
    (None, "u3", "s3", "2024-03-01 08:00:00", "search", "core_search", None, None, False),  # null_key
    ("n1", "u3", "s3", "2024-03-01 08:00:00", "search", None, None, None, False),  # null_event
    ("f1", "u3", "s3", "2999-01-01 00:00:00", "search", "core_search", None, None, False),  # future_event_ts
    ("s9", "u3", "s3", "2024-03-01 08:01:00", "store_click", "m_card_click", None, "st_gone", False),  # unknown_store_id
]
RAW_STORES = [
    ("st_a", "Pho Place", "Vietnamese", "Restaurant", False),
    ("st_b", "Corner Grocery", "Grocery", "Convenience", True),
]
EXPECTED_QUARANTINE = {
    "duplicate_event_id": 1, "null_key": 1, "null_event": 1, "future_event_ts": 1, "unknown_store_id": 1,
}


def _patch_fakesnow_gaps() -> None:
    """Work around the two fakesnow gaps that would stop the build (module docstring)."""
    connect = fakesnow.instance.FakeSnow.connect
    comment_statements = [r"^\s*comment\s+on\s", r"(?s)^\s*alter\s+table\s.*\scomment\s+\$\$"]

    def connect_ignoring_comments(self, *args, **kwargs):
        kwargs["nop_regexes"] = [*(kwargs.get("nop_regexes") or []), *comment_statements]
        return connect(self, *args, **kwargs)

    to_decimal = fakesnow.transforms.to_decimal

    def to_decimal_with_hex(expression):
        format_ = expression.args.get("format") if isinstance(expression, exp.ToNumber) else None
        if format_ is not None and set(format_.name.upper()) == {"X"}:
            hex_literal = exp.DPipe(this=exp.Literal.string("0x"), expression=expression.this)
            return exp.Cast(this=hex_literal, to=exp.DataType.build("bigint"))
        return to_decimal(expression)

    fakesnow.instance.FakeSnow.connect = connect_ignoring_comments
    fakesnow.transforms.to_decimal = to_decimal_with_hex


def _load_raw(cursor) -> None:
    cursor.execute("create schema if not exists journeylift.raw")
    cursor.execute(
        "create table raw.events (event_id varchar, user_id varchar, session_id varchar, event_ts varchar,"
        " event_type varchar, event varchar, discovery_feature varchar, store_id varchar, is_sponsored boolean)"
    )
    cursor.executemany("insert into raw.events values (%s, %s, %s, %s, %s, %s, %s, %s, %s)", RAW_EVENTS)
    cursor.execute(
        "create table raw.dimension_store (store_id varchar, store_name varchar, primary_tag_name varchar,"
        " primary_category_name varchar, is_nv boolean)"
    )
    cursor.executemany("insert into raw.dimension_store values (%s, %s, %s, %s, %s)", RAW_STORES)


def _split(user_id: str) -> str:
    """int_users_split's rule in Python (hash_to_bucket)."""
    bucket = int(hashlib.md5(user_id.encode()).hexdigest()[:8], 16) % 100
    return "test" if bucket >= 85 else "validation" if bucket >= 70 else "train"


def _check_marts(cursor) -> list[str]:
    """What the build wrote, against the answers worked out by hand; returns what differs."""

    def rows(sql: str) -> list[tuple]:
        return cursor.execute(sql).fetchall()

    wrong = []
    quarantined = dict(rows("select reason, count(*) from staging.quarantine_events group by reason"))
    if quarantined != EXPECTED_QUARANTINE:
        wrong.append(f"quarantine {quarantined} != {EXPECTED_QUARANTINE}")
    # fakesnow renders sum() over a window as a float, so its auto journeys read u2-auto-1.0.
    labels = {
        journey.removesuffix(".0"): (user, split, converted)
        for journey, user, split, converted in rows("select journey_id, user_id, split, converted from marts.fct_journey_labels")
    }
    expected_labels = {
        "s1": ("u1", _split("u1"), True),
        "u2-auto-1": ("u2", _split("u2"), False),
        "u2-auto-2": ("u2", _split("u2"), False),
    }
    if labels != expected_labels:
        wrong.append(f"labels {labels} != {expected_labels}")
    [(n_null,)] = rows("select count(*) from marts.fct_journey_labels where conversion_at is null")
    if n_null != 2:
        wrong.append(f"{n_null} journeys without conversion_at, expected 2")
    no_funnel = rows(
        "select event_id from marts.fct_journey_sequences_no_funnel where journey_id = 's1' order by position"
    )
    if [e for (e,) in no_funnel] != ["c1", "c2"]:
        wrong.append(f"s1's no_funnel sequence {no_funnel} != c1, c2")
    return wrong


def main() -> int:
    _patch_fakesnow_gaps()
    work = Path(tempfile.mkdtemp(prefix="journeylift-fakesnow-"))
    with fakesnow.server() as connection_kwargs:
        connection = snowflake.connector.connect(**connection_kwargs, database="journeylift", schema="raw")
        cursor = connection.cursor()
        _load_raw(cursor)
        command = [
            DBT, "build", "--target", "fakesnow", "--exclude", "resource_type:unit_test",
            "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
        ]  # fmt: skip
        env = {**os.environ, "FAKESNOW_PORT": str(connection_kwargs["port"])}
        done = subprocess.run(command, cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=540)
        print(done.stdout[-3000:], done.stderr[-2000:], sep="\n")
        if done.returncode != 0:
            print(f"dbt build on fakesnow failed (exit {done.returncode}); logs in {work / 'logs'}")
            return 1
        wrong = _check_marts(cursor)
    for line in wrong:
        print("WRONG:", line)
    print("fakesnow build: marts as expected" if not wrong else f"fakesnow build: {len(wrong)} check(s) failed")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
