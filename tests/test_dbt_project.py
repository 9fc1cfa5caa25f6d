"""The dbt project end to end on a tiny hand-made raw dataset.

A few users whose journeys exercise every rule of the marts: a converted
journey with funnel events, an event tied with the conversion moment and
events after it; an abandoned cart that never converts; session-less events
with a 40-minute gap that must become two journeys; a journey that is nothing
but its conversion; events without a store or a discovery feature.

dbt runs once for the module (`dbt build`: models, unit tests, data tests);
then rows that leak are injected into the built no_funnel table to show the
singular leakage tests fail.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt"


def _dbt_executable() -> str:
    beside_python = Path(sys.executable).parent / "dbt"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("dbt")
    if found is None:
        pytest.skip("dbt CLI not installed")
    return found


def ts(hh_mm_ss: str, day: int = 1) -> datetime:
    return datetime.fromisoformat(f"2024-03-{day:02d} {hh_mm_ss}")


# (event_id, user_id, session_id, event_ts, event_type, event, discovery_feature, store_id, is_sponsored)
RAW_EVENTS = [
    # u_conv: converts at 10:05:00 (action_place_order); c7 ties with it, c8/c9 come after.
    ("c1", "u_conv", "s_conv", ts("10:00:00"), "store_impression", "m_card_view", "Traditional Carousel", "st_a", True),
    ("c2", "u_conv", "s_conv", ts("10:01:00"), "store_click", "m_card_click", "Core Search", "st_a", None),
    ("c3", "u_conv", "s_conv", ts("10:02:00"), "funnel", "action_add_item", None, "st_a", False),
    ("c4", "u_conv", "s_conv", ts("10:03:00"), "funnel", "cart_page_load", None, None, False),
    ("c5", "u_conv", "s_conv", ts("10:04:00"), "store_page", "store_page_load", "Core Search", "st_b", True),
    ("c6", "u_conv", "s_conv", ts("10:05:00"), "funnel", "action_place_order", None, "st_a", False),
    ("c7", "u_conv", "s_conv", ts("10:05:00"), "navigation", "m_select_tab_explore", None, None, False),
    ("c8", "u_conv", "s_conv", ts("10:06:00"), "funnel", "system_checkout_success", None, "st_a", False),
    ("c9", "u_conv", "s_conv", ts("10:10:00"), "search", "core_search", "Core Search", None, False),
    # u_open: adds to cart and abandons; never converts, so nothing is cut.
    ("o1", "u_open", "s_open", ts("11:00:00"), "search", "core_search", None, None, None),
    ("o2", "u_open", "s_open", ts("11:01:00"), "store_click", "m_card_click", "Core Search", "st_b", False),
    ("o3", "u_open", "s_open", ts("11:02:00"), "funnel", "action_add_item", None, "st_b", False),
    # checkout_page_load filed under another type: still a funnel event by name.
    ("o4", "u_open", "s_open", ts("11:03:00"), "navigation", "checkout_page_load", None, "st_b", False),
    ("o5", "u_open", "s_open", ts("11:10:00"), "navigation", "m_select_tab_explore", None, None, False),
    # u_gap: no session_ids; 09:20 -> 10:00 is a 40-minute gap, so two journeys.
    ("g1", "u_gap", None, ts("09:00:00", day=2), "store_impression", "m_card_view", "Traditional Carousel", "st_a", True),
    ("g2", "u_gap", None, ts("09:20:00", day=2), "store_click", "m_card_click", "Traditional Carousel", "st_a", None),
    ("g3", "u_gap", None, ts("10:00:00", day=2), "store_page", "store_page_load", None, "st_b", False),
    ("g4", "u_gap", None, ts("10:05:00", day=2), "funnel", "system_checkout_success", None, "st_b", False),
    # u_direct: the journey is its conversion alone; labels but no sequence rows.
    ("d1", "u_direct", "s_direct", ts("12:00:00", day=3), "funnel", "action_place_order", None, "st_a", False),
]

# (store_id, store_name, primary_tag_name, primary_category_name, is_nv)
RAW_STORES = [
    ("st_a", "Pho Place", "Vietnamese", "Restaurant", False),
    ("st_b", "Corner Grocery", "Grocery", "Convenience", True),
]

USERS = ["u_conv", "u_open", "u_gap", "u_direct"]


def expected_split(user_id: str) -> str:
    """The split rule of int_users_split / hash_to_bucket, in Python."""
    bucket = int(hashlib.md5(user_id.encode()).hexdigest()[:8], 16) % 100
    return "test" if bucket >= 85 else "validation" if bucket >= 70 else "train"


def write_raw_tables(warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        con.sql("create schema raw")
        con.sql(
            """
            create table raw.events (
                event_id varchar, user_id varchar, session_id varchar, event_ts timestamp,
                event_type varchar, event varchar, discovery_feature varchar,
                store_id varchar, is_sponsored boolean
            )
            """
        )
        con.executemany("insert into raw.events values (?, ?, ?, ?, ?, ?, ?, ?, ?)", RAW_EVENTS)
        con.sql(
            """
            create table raw.dimension_store (
                store_id varchar, store_name varchar, primary_tag_name varchar,
                primary_category_name varchar, is_nv boolean
            )
            """
        )
        con.executemany("insert into raw.dimension_store values (?, ?, ?, ?, ?)", RAW_STORES)
    finally:
        con.close()


class DbtProject:
    """The repo's dbt project pointed at one temporary JOURNEYLIFT_HOME."""

    def __init__(self, home: Path, scratch: Path) -> None:
        self.home = home
        self.scratch = scratch
        self.warehouse = home / "warehouse.duckdb"

    def run(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "JOURNEYLIFT_HOME": str(self.home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        command = [
            _dbt_executable(),
            *args,
            "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR),
            # Keep dbt's artifacts and logs out of the repo.
            "--target-path", str(self.scratch / "target"),
            "--log-path", str(self.scratch / "logs"),
        ]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.sql(sql).fetchall()
        finally:
            con.close()

    @contextmanager
    def injected_sequence_row(self, **values):
        """Insert one row into marts.fct_journey_sequences_no_funnel, removed afterwards."""
        columns = ", ".join(values)
        placeholders = ", ".join("?" for _ in values)
        con = duckdb.connect(str(self.warehouse))
        try:
            con.execute(
                f"insert into marts.fct_journey_sequences_no_funnel ({columns}) values ({placeholders})",
                list(values.values()),
            )
        finally:
            con.close()
        try:
            yield
        finally:
            con = duckdb.connect(str(self.warehouse))
            try:
                con.execute(
                    "delete from marts.fct_journey_sequences_no_funnel where event_id = ?",
                    [values["event_id"]],
                )
            finally:
                con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> DbtProject:
    home = tmp_path_factory.mktemp("journeylift_home")
    project = DbtProject(home, tmp_path_factory.mktemp("dbt_scratch"))
    write_raw_tables(project.warehouse)
    result = project.run("build")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return project


# --- what a user reads in the marts ---------------------------------------------------------


def test_models_land_in_staging_intermediate_and_marts_schemas(built):
    relations = set(
        built.query(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('staging', 'intermediate', 'marts')"
        )
    )
    assert {
        ("staging", "stg_sessions__events"),
        ("staging", "stg_sessions__stores"),
        ("intermediate", "int_events_sessionized"),
        ("intermediate", "int_events_enriched"),
        ("intermediate", "int_journeys_labeled"),
        ("marts", "fct_journey_labels"),
        ("marts", "fct_journey_sequences_no_funnel"),
        ("marts", "fct_journey_sequences_with_funnel"),
        ("marts", "dim_stores"),
        ("marts", "leakage_audit_no_funnel"),
    } <= relations


SEQUENCE_COLUMNS = [
    ("journey_id", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("split", "VARCHAR"),
    ("position", "INTEGER"),
    ("event_id", "VARCHAR"),
    ("event_at", "TIMESTAMP"),
    ("event_type", "VARCHAR"),
    ("event", "VARCHAR"),
    ("discovery_feature", "VARCHAR"),
    ("store_id", "VARCHAR"),
    ("store_name", "VARCHAR"),
    ("primary_tag_name", "VARCHAR"),
    ("primary_category_name", "VARCHAR"),
    ("is_nv", "BOOLEAN"),
    ("is_sponsored", "BOOLEAN"),
    ("seconds_since_prev", "DOUBLE"),
]


@pytest.mark.parametrize(
    "table, columns",
    [
        (
            "fct_journey_labels",
            [
                ("journey_id", "VARCHAR"),
                ("user_id", "VARCHAR"),
                ("split", "VARCHAR"),
                ("journey_started_at", "TIMESTAMP"),
                ("converted", "BOOLEAN"),
                ("conversion_at", "TIMESTAMP"),
                ("n_events", "INTEGER"),
            ],
        ),
        ("fct_journey_sequences_no_funnel", SEQUENCE_COLUMNS),
        ("fct_journey_sequences_with_funnel", SEQUENCE_COLUMNS),
        (
            "dim_stores",
            [
                ("store_id", "VARCHAR"),
                ("store_name", "VARCHAR"),
                ("primary_tag_name", "VARCHAR"),
                ("primary_category_name", "VARCHAR"),
                ("is_nv", "BOOLEAN"),
            ],
        ),
        ("leakage_audit_no_funnel", SEQUENCE_COLUMNS + [("conversion_at", "TIMESTAMP")]),
    ],
)
def test_mart_columns_match_the_developers_contract(built, table, columns):
    actual = built.query(
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = 'marts' and table_name = '{table}' order by ordinal_position"
    )
    assert actual == columns


def test_journey_labels(built):
    rows = built.query(
        "select journey_id, user_id, journey_started_at, converted, conversion_at, n_events "
        "from marts.fct_journey_labels order by journey_id"
    )
    assert rows == [
        ("s_conv", "u_conv", ts("10:00:00"), True, ts("10:05:00"), 9),
        ("s_direct", "u_direct", ts("12:00:00", day=3), True, ts("12:00:00", day=3), 1),
        ("s_open", "u_open", ts("11:00:00"), False, None, 5),
        # Session-less events split at the 40-minute gap into two journeys.
        ("u_gap-auto-1", "u_gap", ts("09:00:00", day=2), False, None, 2),
        ("u_gap-auto-2", "u_gap", ts("10:00:00", day=2), True, ts("10:05:00", day=2), 2),
    ]


def test_splits_are_per_user_and_follow_the_md5_bucket(built):
    splits = built.query("select distinct user_id, split from marts.fct_journey_labels order by user_id")
    assert splits == sorted((user, expected_split(user)) for user in USERS)
    sequence_splits = built.query(
        "select distinct user_id, split from marts.fct_journey_sequences_with_funnel order by user_id"
    )
    assert set(sequence_splits) <= set(splits)


def test_no_funnel_is_cut_at_conversion_without_funnel_events(built):
    rows = built.query(
        "select journey_id, position, event_id, event, seconds_since_prev "
        "from marts.fct_journey_sequences_no_funnel order by journey_id, position"
    )
    assert rows == [
        # c3/c4 are funnel events; c6 converts, c7 ties with it, c8/c9 come after.
        ("s_conv", 1, "c1", "m_card_view", 0.0),
        ("s_conv", 2, "c2", "m_card_click", 60.0),
        ("s_conv", 3, "c5", "store_page_load", 180.0),
        # Not converted: all kept but the cart (o3 by type, o4 by name).
        ("s_open", 1, "o1", "core_search", 0.0),
        ("s_open", 2, "o2", "m_card_click", 60.0),
        ("s_open", 3, "o5", "m_select_tab_explore", 540.0),
        ("u_gap-auto-1", 1, "g1", "m_card_view", 0.0),
        ("u_gap-auto-1", 2, "g2", "m_card_click", 1200.0),
        ("u_gap-auto-2", 1, "g3", "store_page_load", 0.0),
        # s_direct is only its conversion: no rows.
    ]


def test_with_funnel_is_cut_at_conversion_with_funnel_events(built):
    rows = built.query(
        "select journey_id, position, event_id, seconds_since_prev "
        "from marts.fct_journey_sequences_with_funnel order by journey_id, position"
    )
    assert rows == [
        ("s_conv", 1, "c1", 0.0),
        ("s_conv", 2, "c2", 60.0),
        ("s_conv", 3, "c3", 60.0),
        ("s_conv", 4, "c4", 60.0),
        ("s_conv", 5, "c5", 60.0),
        ("s_open", 1, "o1", 0.0),
        ("s_open", 2, "o2", 60.0),
        ("s_open", 3, "o3", 60.0),
        ("s_open", 4, "o4", 60.0),
        ("s_open", 5, "o5", 420.0),
        ("u_gap-auto-1", 1, "g1", 0.0),
        ("u_gap-auto-1", 2, "g2", 1200.0),
        ("u_gap-auto-2", 1, "g3", 0.0),
    ]


def test_store_and_feature_fills(built):
    rows = built.query(
        "select event_id, discovery_feature, store_id, store_name, primary_tag_name, "
        "primary_category_name, is_nv, is_sponsored "
        "from marts.fct_journey_sequences_with_funnel where journey_id in ('s_conv', 's_open') "
        "order by event_id"
    )
    assert rows == [
        ("c1", "Traditional Carousel", "st_a", "Pho Place", "Vietnamese", "Restaurant", False, True),
        ("c2", "Core Search", "st_a", "Pho Place", "Vietnamese", "Restaurant", False, False),
        ("c3", "NO_FEATURE", "st_a", "Pho Place", "Vietnamese", "Restaurant", False, False),
        ("c4", "NO_FEATURE", "NO_STORE", "NO_STORE", "NO_STORE", "NO_STORE", False, False),
        ("c5", "Core Search", "st_b", "Corner Grocery", "Grocery", "Convenience", True, True),
        ("o1", "NO_FEATURE", "NO_STORE", "NO_STORE", "NO_STORE", "NO_STORE", False, False),
        ("o2", "Core Search", "st_b", "Corner Grocery", "Grocery", "Convenience", True, False),
        ("o3", "NO_FEATURE", "st_b", "Corner Grocery", "Grocery", "Convenience", True, False),
        ("o4", "NO_FEATURE", "st_b", "Corner Grocery", "Grocery", "Convenience", True, False),
        ("o5", "NO_FEATURE", "NO_STORE", "NO_STORE", "NO_STORE", "NO_STORE", False, False),
    ]


def test_dim_stores_has_the_no_store_member(built):
    assert built.query("select * from marts.dim_stores order by store_id") == [
        ("NO_STORE", "NO_STORE", "NO_STORE", "NO_STORE", False),
        ("st_a", "Pho Place", "Vietnamese", "Restaurant", False),
        ("st_b", "Corner Grocery", "Grocery", "Convenience", True),
    ]


def test_leakage_audit_view_carries_conversion_at(built):
    rows = built.query(
        "select event_id, event_at, conversion_at from marts.leakage_audit_no_funnel "
        "where conversion_at is not null order by event_id"
    )
    assert rows == [
        ("c1", ts("10:00:00"), ts("10:05:00")),
        ("c2", ts("10:01:00"), ts("10:05:00")),
        ("c5", ts("10:04:00"), ts("10:05:00")),
        ("g3", ts("10:00:00", day=2), ts("10:05:00", day=2)),
    ]


# --- the leakage tests catch leaks ----------------------------------------------------------


def leaked_row(**overrides) -> dict:
    row = dict(
        journey_id="s_open", user_id="u_open", split=expected_split("u_open"), position=99,
        event_id="leak", event_at=ts("11:05:00"), event_type="navigation", event="m_select_tab_explore",
        discovery_feature="NO_FEATURE", store_id="NO_STORE", store_name="NO_STORE",
        primary_tag_name="NO_STORE", primary_category_name="NO_STORE", is_nv=False,
        is_sponsored=False, seconds_since_prev=0.0,
    )
    return {**row, **overrides}


@pytest.mark.parametrize(
    "funnel_event",
    [
        pytest.param({"event_type": "funnel", "event": "some_new_funnel_step"}, id="by-type"),
        pytest.param({"event_type": "navigation", "event": "cart_page_load"}, id="by-name"),
    ],
)
def test_funnel_event_in_no_funnel_fails_the_funnel_test(built, funnel_event):
    with built.injected_sequence_row(**leaked_row(**funnel_event)):
        result = built.run("test", "--select", "assert_no_funnel_sequences_hold_no_funnel_events")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "FAIL 1 assert_no_funnel_sequences_hold_no_funnel_events" in result.stdout


def test_event_at_conversion_moment_fails_the_temporal_test(built):
    # Not a funnel event, so excluding funnel types alone would not catch it.
    tied = leaked_row(journey_id="s_conv", user_id="u_conv", split=expected_split("u_conv"), event_at=ts("10:05:00"))
    with built.injected_sequence_row(**tied):
        result = built.run("test", "--select", "assert_no_funnel_sequences_end_before_conversion")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "FAIL 1 assert_no_funnel_sequences_end_before_conversion" in result.stdout
