"""Row-level faults of the raw contract land in staging.quarantine_events with their reason and
count, the run goes on with the good rows, and no row is lost: raw = accepted + quarantined, and
every accepted event reaches int_events_enriched.

A CSV folder holds every fault once (an over-long session is quarantined whole); the raw asset
loads it through Dagster, then dbt builds the staging and intermediate layers with an allow-list
and a small session cap configured as dbt vars, and the sequence mart with a 50% user sample
and a two-event minimum history.
"""

from __future__ import annotations


from graph_runs import build_folder_source
import duckdb
import pandas as pd
import pytest

from dagster_project.defs.ml.training import data_params
from dagster_project.settings import parse_source
from dagster_project.warehouse import Warehouse
from ml.contract import CONTRACT_TABLES
from ml.reporting import quarantine_lines

COLUMNS = list(CONTRACT_TABLES["events"].columns)  # the raw contract's required columns, in order
MAX_SESSION_EVENTS = 5
GOOD = [
    ("g1", "u1", "s1", "2024-03-01 10:00:00", "store_impression", "m_card_view", "Home Feed", "st_a", "true"),
    ("g2", "u1", "s1", "2024-03-01 10:01:00", "store_click", "m_card_click", "Home Feed", "st_a", ""),
    ("g3", "u1", "s1", "2024-03-01 10:02:00", "funnel", "action_place_order", "", "st_a", "false"),
    ("g4", "u2", "", "2024-03-01 11:00:00", "search", "core_search", "Core Search", "", "0"),
    ("g5", "u2", "", "2024-03-01 11:05:00", "store_page", "store_page_load", "", "st_b", "1"),
    # the first copy of a duplicated event id is kept
    ("dup", "u2", "", "2024-03-01 11:06:00", "store_page", "store_page_load", "", "st_b", "false"),
    # a one-event journey of u1: under min_journey_events
    ("g6", "u1", "s1b", "2024-03-03 08:00:00", "search", "core_search", "", "", "false"),
]
FAULTS = {
    "null_key": [
        ("", "u3", "s3", "2024-03-01 12:00:00", "search", "core_search", "", "", "false"),
        ("k2", "", "s3", "2024-03-01 12:01:00", "search", "core_search", "", "", "false"),
    ],
    "null_event": [("n1", "u3", "s3", "2024-03-01 12:02:00", "search", "", "", "", "false")],
    "unparseable_event_ts": [("t1", "u3", "s3", "the 1st of March", "search", "core_search", "", "", "false")],
    "future_event_ts": [("t2", "u3", "s3", "2099-01-01 00:00:00", "search", "core_search", "", "", "false")],
    "unparseable_is_sponsored": [("b1", "u3", "s3", "2024-03-01 12:03:00", "search", "core_search", "", "", "perhaps")],
    "event_not_in_allow_list": [("a1", "u3", "s3", "2024-03-01 12:04:00", "search", "m_mystery_tap", "", "", "false")],
    "event_type_not_in_allow_list": [("a2", "u3", "s3", "2024-03-01 12:05:00", "telemetry", "core_search", "", "", "false")],
    "unknown_store_id": [("st1", "u3", "s3", "2024-03-01 12:06:00", "store_page", "store_page_load", "", "st_zz", "false")],
    "duplicate_event_id": [("dup", "u2", "", "2024-03-01 11:07:00", "search", "core_search", "", "", "false")],
    # a bot-like session one event over the cap: every event of it is quarantined
    "session_too_long": [
        (f"l{i}", "u4", "s_long", f"2024-03-02 09:0{i}:00", "store_impression", "m_card_view", "", "st_b", "false")
        for i in range(MAX_SESSION_EVENTS + 1)
    ],
}
STORES = pd.DataFrame({"store_id": ["st_a", "st_b"], "store_name": ["Pho Place", "Corner Grocery"],
                       "primary_tag_name": ["Vietnamese", "Grocery"], "primary_category_name": ["Restaurant", "Convenience"],
                       "is_nv": [False, True]})
DBT_VARS = {
    "event_allow_list": ["m_card_view", "m_card_click", "action_place_order", "core_search", "store_page_load"],
    "event_type_allow_list": ["store_impression", "store_click", "funnel", "search", "store_page"],
    "max_session_events": MAX_SESSION_EVENTS,
    # md5('sample-' || user_id) buckets: u1 12 (sampled), u2 97 (not)
    "sample_users_pct": 50,
    "min_journey_events": 2,
}


@pytest.fixture(scope="module")
def quarantined(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faulty-source")
    rows = GOOD + [row for rows in FAULTS.values() for row in rows]
    pd.DataFrame(rows, columns=COLUMNS).to_csv(folder / "events.csv", index=False)
    STORES.to_csv(folder / "dimension_store.csv", index=False)
    home, _, result, counted = build_folder_source(
        folder, tmp_path_factory, ["+int_events_enriched", "quarantine_events", "+fct_journey_sequences_no_funnel"],
        DBT_VARS,
    )
    counts = Warehouse(path=str(home / "warehouse.duckdb")).read_table("journeylift", "quarantine_counts")
    params = data_params(parse_source(str(folder)), counts)
    return home, result, counted, params, len(rows)


def query(home, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_each_fault_lands_in_quarantine_with_its_reason_and_count(quarantined):
    home, *_ = quarantined
    counts = dict(query(home, "select reason, count(*) from staging.quarantine_events group by reason"))
    assert counts == {reason: len(rows) for reason, rows in FAULTS.items()}
    # the raw values are kept as text, the unparseable timestamp included
    assert query(home, "select event_ts, reason from staging.quarantine_events where event_id = 't1'") == [
        ("the 1st of March", "unparseable_event_ts")
    ]
    # event_at, the parsed event time (deterministic: re-running a partition changes no row), is
    # null only where event_ts does not parse
    assert query(home, "select event_id from staging.quarantine_events where event_at is null") == [("t1",)]


def test_good_rows_go_on_and_nothing_is_lost(quarantined):
    home, result, _, _, n_raw = quarantined
    accepted = {r[0] for r in query(home, "select event_id from staging.stg_sessions__events")}
    assert accepted == {row[0] for row in GOOD}
    # the kept copy of the duplicate is the first one (11:06, not 11:07)
    assert query(home, "select event from staging.stg_sessions__events where event_id = 'dup'") == [("store_page_load",)]
    (quarantined_rows,) = query(home, "select count(*) from staging.quarantine_events")[0]
    assert n_raw == query(home, "select count(*) from raw.events")[0][0] == len(accepted) + quarantined_rows
    assert {r[0] for r in query(home, "select event_id from intermediate.int_events_enriched")} == accepted
    assert "PASS assert_raw_events_reconcile_with_accepted_and_quarantined" in result.stdout


def test_counts_reach_dagster_metadata_the_summary_and_the_training_params(quarantined):
    home, _, counted, params, n_raw = quarantined
    metadata = counted.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["raw_events"].value == n_raw
    assert metadata["quarantined__session_too_long"].value == MAX_SESSION_EVENTS + 1
    assert metadata["accepted_events"].value == len(GOOD)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        text = "\n".join(quarantine_lines(con.sql("select * from journeylift.quarantine_counts").df()))
    assert f"{n_raw - len(GOOD)} of {n_raw} raw events quarantined" in text
    assert "session_too_long" in text and "unparseable_event_ts" in text
    assert params["quarantined__null_key"] == 2 and params["quarantined_events"] == n_raw - len(GOOD)
    assert params["sample_users_pct"] == 100 and params["min_journey_events"] == 1  # the project's defaults


def test_the_training_sample_keeps_whole_users_and_the_minimum_history(quarantined):
    home, *_ = quarantined
    # u2 is outside the 50% sample (all its journeys go); u1's one-event journey s1b is too short
    assert query(home, "select distinct journey_id, user_id from marts.fct_journey_sequences_no_funnel") == [("s1", "u1")]
    assert query(home, "select count(*) from marts.fct_journey_sequences_no_funnel") == [(2,)]
    # the sample is a training filter: every accepted event still reaches the canonical events
    assert query(home, "select count(*) from intermediate.int_events_enriched") == [(len(GOOD),)]
