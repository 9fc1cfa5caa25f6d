"""What users bring from other systems: timestamps written with UTC offsets or zone names, a
session crossing a daylight-saving switch, and events that lost their session_id.

A CSV folder source goes the real path: the contract check and load (Dagster's raw asset), `dbt
build` of staging, intermediate and marts, the quarantine counts asset, then the leakage guard's
GX suites on the built honest sequences.

- u_dst's session crosses the end of summer time in Berlin (2026-10-25, 03:00 CEST becomes 02:00
  CET); its events are written in local time with their offset. On the local clock the order
  event (02:20+01:00) comes before two browsing events (02:40+02:00, 02:50+02:00) that truly came
  first; read as clock time they would be cut away as post-order, and a post-order event
  (02:45+01:00) would look earlier than them.
- u_forms writes one moment five ways: Z, an offset with minutes (+0530 and -04:00), a zone name,
  and no zone at all (taken as UTC).
- u_orph's session s_o loses the session_id of its order event and of one post-order event; both
  must join s_o (so s_o converts at the order and is cut there), while an event hours later, in
  no session's reach, becomes a journey of its own.
"""

from __future__ import annotations

from datetime import datetime

from graph_runs import build_folder_source
import dagster as dg
import duckdb
import pandas as pd
import pytest

from dagster_project.defs.quality.leakage_guard import guard_parameters
from expectations import leakage_guard
from ml.contract import CONTRACT_TABLES
from ml.reporting import quarantine_lines

COLUMNS = list(CONTRACT_TABLES["events"].columns)  # the raw contract's required columns, in order
EVENTS = [
    # u_dst: true order d1 (00:40Z), d2 (00:50Z), d3 (01:10Z), order d4 (01:20Z), d5 (01:45Z, cut)
    ("d1", "u_dst", "s_dst", "2026-10-25 02:40:00+02:00", "store_impression", "m_card_view", "Home Feed", "st_a", "false"),
    ("d2", "u_dst", "s_dst", "2026-10-25 02:50:00+02:00", "store_click", "m_card_click", "Home Feed", "st_a", "false"),
    ("d3", "u_dst", "s_dst", "2026-10-25 02:10:00+01:00", "store_page", "store_page_load", "", "st_a", "false"),
    ("d4", "u_dst", "s_dst", "2026-10-25 02:20:00+01:00", "funnel", "action_place_order", "", "st_a", "false"),
    ("d5", "u_dst", "s_dst", "2026-10-25 02:45:00+01:00", "navigation", "m_select_tab_orders", "", "", "false"),
    # u_forms: 08:00Z to 08:04Z, one minute apart
    ("f1", "u_forms", "s_forms", "2026-10-20T08:00:00Z", "search", "core_search", "", "", "false"),
    ("f2", "u_forms", "s_forms", "2026-10-20 10:01:00 Europe/Berlin", "search", "core_search", "", "", "false"),
    ("f3", "u_forms", "s_forms", "2026-10-20 08:02:00", "search", "core_search", "", "", "false"),
    ("f4", "u_forms", "s_forms", "2026-10-20 04:03:00-04:00", "search", "core_search", "", "", "false"),
    ("f5", "u_forms", "s_forms", "2026-10-20 13:34:00.5+0530", "search", "core_search", "", "", "false"),
    # u_orph: o3 (the order) and o5 (post-order browsing) lost their session_id; o6 is hours later
    ("o1", "u_orph", "s_o", "2026-10-21 10:00:00", "store_impression", "m_card_view", "Home Feed", "st_a", "true"),
    ("o2", "u_orph", "s_o", "2026-10-21 10:05:00", "store_click", "m_card_click", "Home Feed", "st_a", "false"),
    ("o3", "u_orph", "", "2026-10-21 10:10:00", "funnel", "action_place_order", "", "st_a", "false"),
    ("o4", "u_orph", "s_o", "2026-10-21 10:12:00", "navigation", "m_select_tab_orders", "", "", "false"),
    ("o5", "u_orph", "", "2026-10-21 10:20:00", "navigation", "m_select_tab_orders", "", "", "false"),
    ("o6", "u_orph", "", "2026-10-21 15:00:00", "search", "core_search", "", "", "false"),
]
STORES = pd.DataFrame({"store_id": ["st_a"], "store_name": ["Pho Place"], "primary_tag_name": ["Vietnamese"],
                       "primary_category_name": ["Restaurant"], "is_nv": [False]})


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exported-source")
    pd.DataFrame(EVENTS, columns=COLUMNS).to_csv(folder / "events.csv", index=False)
    STORES.to_csv(folder / "dimension_store.csv", index=False)
    home, loaded, result, counted = build_folder_source(
        folder, tmp_path_factory, ["+leakage_audit_no_funnel", "+fct_journey_labels", "quarantine_events"]
    )
    assert counted.success
    return home, loaded, result, counted


def query(home, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_every_written_zone_becomes_utc_and_naive_values_are_taken_as_utc(built):
    home, loaded, *_ = built
    event_at = dict(query(home, "select event_id, event_at from staging.stg_sessions__events where user_id = 'u_forms'"))
    assert event_at == {
        "f1": utc("2026-10-20 08:00:00"), "f2": utc("2026-10-20 08:01:00"), "f3": utc("2026-10-20 08:02:00"),
        "f4": utc("2026-10-20 08:03:00"), "f5": utc("2026-10-20 08:04:00.5"),
    }
    # the contract check says how it reads them
    (events,) = [m for m in loaded.get_asset_materialization_events()
                 if m.materialization.asset_key == dg.AssetKey(["raw", "events"])]
    said = events.materialization.metadata["timestamps"].value
    assert "events.event_ts" in said and "converted to UTC" in said and "without is taken as UTC" in said


def test_a_session_across_a_daylight_saving_switch_keeps_true_order_and_its_cut(built):
    home, *_ = built
    assert query(home, "select event_id, event_at from intermediate.int_events_ranked "
                       "where journey_id = 's_dst' order by event_rank") == [
        ("d1", utc("2026-10-25 00:40:00")), ("d2", utc("2026-10-25 00:50:00")), ("d3", utc("2026-10-25 01:10:00")),
        ("d4", utc("2026-10-25 01:20:00")), ("d5", utc("2026-10-25 01:45:00")),
    ]
    assert query(home, "select converted, conversion_at from marts.fct_journey_labels where journey_id = 's_dst'") == [
        (True, utc("2026-10-25 01:20:00"))
    ]
    # cut at the conversion moment: the three events before the order, in true order
    assert query(home, "select event_id from marts.fct_journey_sequences_no_funnel "
                       "where journey_id = 's_dst' order by position") == [("d1",), ("d2",), ("d3",)]


def test_events_without_session_id_join_their_session(built):
    home, *_ = built
    journeys = dict(query(home, "select event_id, journey_id from intermediate.int_events_sessionized "
                                "where user_id = 'u_orph'"))
    assert journeys == {"o1": "s_o", "o2": "s_o", "o3": "s_o", "o4": "s_o", "o5": "s_o", "o6": "u_orph-auto-1"}
    # the order event that lost its id still converts its session, at its moment
    labels = dict((j, (c, t)) for j, c, t in query(
        home, "select journey_id, converted, conversion_at from marts.fct_journey_labels where user_id = 'u_orph'"))
    assert labels == {"s_o": (True, utc("2026-10-21 10:10:00")), "u_orph-auto-1": (False, None)}
    # post-order browsing neither stays in the honest sequence nor becomes an unconverted journey
    assert query(home, "select journey_id, event_id from marts.fct_journey_sequences_no_funnel "
                       "where user_id = 'u_orph' order by journey_id, position") == [
        ("s_o", "o1"), ("s_o", "o2"), ("u_orph-auto-1", "o6")
    ]


def test_the_counts_say_how_many_events_were_reattached(built):
    home, _, result, counted = built
    metadata = counted.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["reattached_events"].value == 2
    counts = query(home, "select status, reason, n_events from journeylift.quarantine_counts order by status")
    assert counts == [("accepted", None, len(EVENTS) - 2), ("repaired", "session_id_reattached", 2)]
    text = "\n".join(quarantine_lines(pd.DataFrame(counts, columns=["status", "reason", "n_events"])))
    assert f"none of {len(EVENTS)} raw events" in text and "2 events without session_id joined" in text
    assert "PASS assert_raw_events_reconcile_with_accepted_and_quarantined" in result.stdout
    assert "test_reattaches_session_less_events_to_the_session_whose_span_holds_them" in result.stdout


def test_the_guard_sees_the_repaired_sessions(built):
    """The guard passes the repaired marts, and fails when the re-attached post-order event is put
    back into the honest sequence: its session's conversion moment is the orphaned order's. (No
    labels: on a dozen events any column separates the labels, so the single-feature AUC suite
    is left out.)"""
    home, *_ = built
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        audit = con.sql("select * from marts.leakage_audit_no_funnel").df()
        post_order = con.sql(
            "select * replace (3 as position) from marts.leakage_audit_no_funnel where event_id = 'o2'"
        ).df().assign(event_id="o5", event="m_select_tab_orders", event_type="navigation",
                      event_at=pd.Timestamp("2026-10-21 10:20:00"))
    clean = leakage_guard(audit, "no_funnel", guard_parameters())
    assert clean.success, [f.message for f in clean.failures]
    leaked = leakage_guard(pd.concat([audit, post_order], ignore_index=True), "no_funnel", guard_parameters())
    assert not leaked.success
    assert any("o5" in f.message and "conversion" in f.message for f in leaked.failures), [
        f.message for f in leaked.failures]

