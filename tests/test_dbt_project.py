"""The dbt project end to end on a tiny hand-made raw dataset.

A few users whose journeys exercise every rule of the marts: a converted
journey with funnel events, an event tied with the conversion moment and
events after it; an abandoned cart that never converts; session-less events
with a 40-minute gap that must become two journeys; a journey that is nothing
but its conversion; events without a store or a discovery feature.

dbt runs once for the module (`dbt build`: models, unit tests, data tests);
then rows that leak are injected into the built no_funnel table to show the
singular leakage tests fail. That build's raw events lack the optional
`is_ghost_ad` column and there is no `ad_experiment` table, as in a user's own
data without an ad holdout.

A second build adds the optional ad holdout: `is_ghost_ad` on the events, a
holdout user whose organic cards stand where sponsored ones would have been,
and the `ad_experiment` table; fct_ad_experiment_journeys is checked row by row.
It also brings the optional `user_splits` table, pinning one user to a split
its hash would not give it.
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


# The optional ad holdout. u_conv, u_open and u_direct are in treatment; u_gap is outside the
# experiment; u_hold and u_late are in the holdout; u_silent is in it but has no events.
# (..., is_sponsored, is_ghost_ad): the RAW_EVENTS rows get is_ghost_ad null.
EXPERIMENT_EVENTS = [
    # u_hold, s_hold: two ghost slots (a card and the click on it) before converting at 13:03,
    # one more after it (cut).
    ("h1", "u_hold", "s_hold", ts("13:00:00"), "store_impression", "m_card_view", "Home Feed", "st_a", False, True),
    ("h2", "u_hold", "s_hold", ts("13:01:00"), "store_click", "m_card_click", "Home Feed", "st_a", False, True),
    ("h3", "u_hold", "s_hold", ts("13:02:00"), "store_page", "store_page_load", None, "st_a", False, False),
    ("h4", "u_hold", "s_hold", ts("13:03:00"), "funnel", "action_place_order", None, "st_a", False, None),
    ("h5", "u_hold", "s_hold", ts("13:04:00"), "store_impression", "m_card_view", "Home Feed", "st_b", False, True),
    # u_hold, s_hold2: no ghost slot; never converts.
    ("h6", "u_hold", "s_hold2", ts("13:00:00", day=2), "store_impression", "m_card_view", "Core Search", "st_b", False, False),
    ("h7", "u_hold", "s_hold2", ts("13:01:00", day=2), "search", "core_search", "Core Search", None, None, None),
    # u_late, s_late: its only ghost ad ties with the conversion moment, so the cut drops it.
    ("l1", "u_late", "s_late", ts("14:00:00"), "store_impression", "m_card_view", "Home Feed", "st_b", False, False),
    ("l2", "u_late", "s_late", ts("14:01:00"), "funnel", "action_place_order", None, "st_b", False, None),
    ("l3", "u_late", "s_late", ts("14:01:00"), "store_impression", "m_card_view", "Home Feed", "st_a", False, True),
]

AD_EXPERIMENT = [
    ("u_conv", "treatment"),
    ("u_open", "treatment"),
    ("u_direct", "treatment"),
    ("u_hold", "holdout"),
    ("u_late", "holdout"),
    ("u_silent", "holdout"),
]

# The optional user_splits table: u_hold pinned to a split other than its hash's.
PINNED_SPLITS = {"u_hold": "test" if expected_split("u_hold") != "test" else "train"}


def split_of(user_id: str) -> str:
    return PINNED_SPLITS.get(user_id, expected_split(user_id))


EVENT_COLUMNS = """
    event_id varchar, user_id varchar, session_id varchar, event_ts timestamp,
    event_type varchar, event varchar, discovery_feature varchar,
    store_id varchar, is_sponsored boolean
"""


def write_raw_tables(warehouse: Path, with_ad_experiment: bool = False) -> None:
    """The raw contract tables; with the optional is_ghost_ad column and the ad_experiment and
    user_splits tables on request."""
    con = duckdb.connect(str(warehouse))
    try:
        con.sql("create schema raw")
        if with_ad_experiment:
            con.sql(f"create table raw.events ({EVENT_COLUMNS}, is_ghost_ad boolean)")
            rows = [row + (None,) for row in RAW_EVENTS] + EXPERIMENT_EVENTS
            con.executemany("insert into raw.events values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            con.sql("create table raw.ad_experiment (user_id varchar, arm varchar)")
            con.executemany("insert into raw.ad_experiment values (?, ?)", AD_EXPERIMENT)
            con.sql("create table raw.user_splits (user_id varchar, split varchar)")
            con.executemany("insert into raw.user_splits values (?, ?)", list(PINNED_SPLITS.items()))
        else:
            con.sql(f"create table raw.events ({EVENT_COLUMNS})")
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

    def execute(self, sql: str, parameters: list | None = None) -> None:
        con = duckdb.connect(str(self.warehouse))
        try:
            con.execute(sql, parameters or [])
        finally:
            con.close()

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


@pytest.fixture(scope="module")
def built_with_experiment(tmp_path_factory) -> DbtProject:
    home = tmp_path_factory.mktemp("journeylift_home_experiment")
    project = DbtProject(home, tmp_path_factory.mktemp("dbt_scratch_experiment"))
    write_raw_tables(project.warehouse, with_ad_experiment=True)
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
        ("staging", "stg_sessions__ad_experiment"),
        ("marts", "fct_ad_experiment_journeys"),
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


AD_EXPERIMENT_COLUMNS = [
    ("journey_id", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("split", "VARCHAR"),
    ("arm", "VARCHAR"),
    ("is_exposed", "BOOLEAN"),
    ("n_ad_slots", "INTEGER"),
    ("converted", "BOOLEAN"),
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
        ("fct_ad_experiment_journeys", AD_EXPERIMENT_COLUMNS),
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


# --- the optional ad holdout ----------------------------------------------------------------


def test_without_the_optional_column_and_table_the_experiment_is_empty(built):
    """raw.events without is_ghost_ad and no raw.ad_experiment: the build passed (the fixture),
    every event reads as no ghost ad, and the experiment relations exist, empty, with their columns."""
    assert built.query(
        "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = 'ad_experiment'"
    ) == [(0,)]
    assert ("is_ghost_ad",) not in built.query(
        "select column_name from information_schema.columns where table_schema = 'raw' and table_name = 'events'"
    )
    assert built.query("select distinct is_ghost_ad from staging.stg_sessions__events") == [(False,)]
    assert built.query("select distinct is_ghost_ad from intermediate.int_events_enriched") == [(False,)]
    assert built.query(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'staging' and table_name = 'stg_sessions__ad_experiment' order by ordinal_position"
    ) == [("user_id", "VARCHAR"), ("arm", "VARCHAR")]
    assert built.query("select count(*) from staging.stg_sessions__ad_experiment") == [(0,)]
    assert built.query("select count(*) from marts.fct_ad_experiment_journeys") == [(0,)]


def test_ad_experiment_journeys(built_with_experiment):
    rows = built_with_experiment.query(
        "select journey_id, user_id, split, arm, is_exposed, n_ad_slots, converted "
        "from marts.fct_ad_experiment_journeys order by journey_id"
    )
    split = split_of
    assert rows == [
        # c1 (sponsored card) and c5 (sponsored store page) before the order; c2's null is not sponsored.
        ("s_conv", "u_conv", split("u_conv"), "treatment", True, 2, True),
        # the journey is its conversion alone: nothing before the cut.
        ("s_direct", "u_direct", split("u_direct"), "treatment", False, 0, True),
        # h1 and h2 are ghost slots before the order; h5 comes after it.
        ("s_hold", "u_hold", split("u_hold"), "holdout", True, 2, True),
        ("s_hold2", "u_hold", split("u_hold"), "holdout", False, 0, False),
        # l3's ghost ad ties with the conversion moment: cut, so not exposed.
        ("s_late", "u_late", split("u_late"), "holdout", False, 0, True),
        ("s_open", "u_open", split("u_open"), "treatment", False, 0, False),
        # u_gap is outside the experiment; u_silent is in it with no journey.
    ]


def test_ghost_flags_ride_through_staging_and_intermediate_but_not_into_sequences(built_with_experiment):
    ghosts = built_with_experiment.query(
        "select event_id, is_sponsored from intermediate.int_events_enriched where is_ghost_ad order by event_id"
    )
    assert ghosts == [("h1", False), ("h2", False), ("h5", False), ("l3", False)]
    assert built_with_experiment.query(
        "select count(*) from staging.stg_sessions__events where is_ghost_ad is null"
    ) == [(0,)]
    for table in ("fct_journey_sequences_no_funnel", "fct_journey_sequences_with_funnel"):
        columns = built_with_experiment.query(
            "select column_name, data_type from information_schema.columns "
            f"where table_schema = 'marts' and table_name = '{table}' order by ordinal_position"
        )
        assert columns == SEQUENCE_COLUMNS, table
    # a ghost card is an ordinary organic card in the model's input
    assert built_with_experiment.query(
        "select event_id, position, is_sponsored from marts.fct_journey_sequences_no_funnel "
        "where journey_id = 's_hold' order by position"
    ) == [("h1", 1, False), ("h2", 2, False), ("h3", 3, False)]


def test_sponsored_event_in_the_holdout_fails_the_holdout_test(built_with_experiment):
    project = built_with_experiment
    project.execute(
        "insert into intermediate.int_events_enriched (event_id, journey_id, user_id, event_at, is_sponsored) "
        "values ('leak_ad', 's_hold2', 'u_hold', ?, true)",
        [ts("13:02:00", day=2)],
    )
    try:
        result = project.run("test", "--select", "assert_holdout_journeys_hold_no_sponsored_event")
    finally:
        project.execute("delete from intermediate.int_events_enriched where event_id = 'leak_ad'")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "FAIL 1 assert_holdout_journeys_hold_no_sponsored_event" in result.stdout


def test_user_splits_pin_their_users_and_the_hash_splits_the_rest(built_with_experiment):
    rows = built_with_experiment.query(
        "select user_id, split, is_split_pinned from intermediate.int_users_split order by user_id"
    )
    assert rows == [(user, split_of(user), user in PINNED_SPLITS) for user, _, _ in rows]
    assert ("u_hold", PINNED_SPLITS["u_hold"], True) in rows
    assert PINNED_SPLITS["u_hold"] != expected_split("u_hold")
    labels = built_with_experiment.query("select distinct split from marts.fct_journey_labels where user_id = 'u_hold'")
    assert labels == [(PINNED_SPLITS["u_hold"],)]


def test_a_bad_user_split_row_fails_the_build_naming_the_column_and_rule(built_with_experiment):
    project = built_with_experiment
    # a split outside train/validation/test, and u_hold named twice (pinned to test or train above)
    project.execute("insert into raw.user_splits values ('u_open', 'holdout'), ('u_hold', 'validation')")
    try:
        result = project.run("test", "--select", "stg_sessions__user_splits")
        kept = project.query("select user_id, split from staging.stg_sessions__user_splits order by user_id, split")
    finally:
        project.execute("delete from raw.user_splits where user_id = 'u_open' or split = 'validation'")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "FAIL 1 accepted_values_stg_sessions__user_splits_split__train__validation__test" in result.stdout
    assert "FAIL 1 unique_stg_sessions__user_splits_user_id" in result.stdout
    # nothing is lost: the rejected rows stay in the staging view to look at
    assert ("u_open", "holdout") in kept and len(kept) == 3
