"""Hostile and odd values in what a user brings (issue 16).

A property-based test (hypothesis) generates raw event tables with nulls, duplicated ids, unicode
and control characters, quotes and semicolons in names, extreme, malformed and out-of-order
timestamps with and without offsets, and pushes each through the real path (the contract check,
the raw load, `dbt build` of staging and intermediate): either the contract check refuses the
source with lines naming table and column, or the build succeeds and every raw row is accepted or
quarantined, none lost, none crashing a model. Each example is a dbt build, so the examples are
few and derandomized: the same tables in every run of `make test`.

Names that try SQL injection or path tricks (a `warehouse:<schema>`, a `warehouse:<schema>.<table>`
to check, a source folder) are refused by name before anything reads them.
"""

from __future__ import annotations

import os

import duckdb
from graph_runs import build_folder_source
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
import pandas as pd
import pytest

from dagster_project.cli import main
from dagster_project.defs.raw.contract_check import SourceContractError, check_contract
from dagster_project.settings import parse_source
from ml.contract import CONTRACT_TABLES

EVENT_COLUMNS = list(CONTRACT_TABLES["events"].columns)
HOSTILE_TEXT = ["", " ", "a'b", 'x";drop table raw.events;--', "Ünïcødé ✓ 事件", "tab\there", "new\nline",
                "cr\rhere", "bell\x07", "del\x7f", "NULL", "null", "\\", "%_*"]
names = st.one_of(st.none(), st.sampled_from(["u1", "u2", "s1", "e1", "e2"] + HOSTILE_TEXT),
                  st.text(max_size=6))
timestamps = st.one_of(
    st.none(),
    st.sampled_from(["", "not a time", "2026-10-25 02:30:00+01:00", "2026-10-25 02:30:00+02:00",
                     "2026-10-25T00:59:59Z", "2026-10-25 03:00:00 Europe/Berlin", "2026-10-25 02:30:00 CEST",
                     "0001-01-01 00:00:00", "9999-12-31 23:59:59", "294247-01-10 04:00:54", "1970-01-01",
                     "2099-01-01 00:00:00", "2026-13-40 25:61:61", "2026-10-01 12:00:00.123456789"]),
    st.datetimes(min_value=pd.Timestamp("1900-01-01").to_pydatetime(),
                 max_value=pd.Timestamp("2026-11-30").to_pydatetime()).map(str),
)
events = st.sampled_from(["m_card_view", "m_card_click", "action_place_order", "system_checkout_success",
                          "cart_page_load", "core_search"] + HOSTILE_TEXT)
event_types = st.sampled_from(["store_impression", "funnel", "search", "navigation"] + HOSTILE_TEXT)
booleans = st.one_of(st.none(), st.sampled_from(["true", "false", "1", "0", "yes", "no", "t", "maybe", ""]))
stores = st.one_of(st.none(), st.sampled_from(["st_a", "st_b", "st_missing", "st'; --"]))
rows = st.tuples(names, names, names, timestamps, event_types, events, names, stores, booleans)
STORES = pd.DataFrame({"store_id": ["st_a", "st_b", "st'; --"], "store_name": ["Pho", "Grocer", "Qu'ote"],
                       "primary_tag_name": ["x", "y", "z"], "primary_category_name": ["a", "b", "c"],
                       "is_nv": [False, True, False]})


@settings(max_examples=5, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.generate])  # no shrinking: each example is a dbt build
@given(table=st.lists(rows, min_size=1, max_size=30), as_csv=st.booleans())
def test_raw_equals_accepted_plus_quarantined_whatever_the_values(table, as_csv, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    frame = pd.DataFrame(table, columns=EVENT_COLUMNS, dtype="string")
    if as_csv:
        frame.to_csv(folder / "events.csv", index=False)
    else:
        frame.to_parquet(folder / "events.parquet", index=False)
    STORES.to_parquet(folder / "dimension_store.parquet", index=False)
    try:
        with duckdb.connect() as con:
            check_contract(con, parse_source(str(folder)))
    except SourceContractError as refused:  # unreadable, or a column of which no value parses: named
        assert refused.violations and all(line.startswith("events") for line in refused.violations)
        return
    home, _, result, counted = build_folder_source(
        folder, tmp_path_factory, ["+int_events_enriched", "quarantine_events", "+fct_journey_labels"]
    )
    assert counted.success
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        (raw, accepted, quarantined, enriched), = con.sql(
            "select (select count(*) from raw.events), (select count(*) from staging.stg_sessions__events),"
            " (select count(*) from staging.quarantine_events), (select count(*) from intermediate.int_events_enriched)"
        ).fetchall()
    assert raw == len(frame), "the load lost or split rows"
    assert raw == accepted + quarantined and enriched == accepted


@pytest.mark.parametrize("value", ["warehouse:raw;drop table raw.events", "warehouse:raw events", "warehouse:ſchema",
                                   "warehouse:../raw"])
def test_a_warehouse_schema_that_is_not_a_plain_name_is_refused_by_name(value):
    with pytest.raises(ValueError, match="is not a plain name"):
        parse_source(value)


@pytest.mark.parametrize("name", ["it's", 'a";drop table raw.events;--', "new\nline"])
def test_a_source_folder_with_sql_or_control_characters_is_refused_by_name(name, tmp_path, monkeypatch, capsys):
    folder = tmp_path / name
    folder.mkdir()  # it exists: the refusal is for its name
    with pytest.raises(ValueError, match="rename the folder"):
        parse_source(str(folder))
    monkeypatch.setenv("JOURNEYLIFT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("JOURNEYLIFT_SOURCE", str(folder))
    assert main(["run"]) == 1
    assert "rename the folder" in capsys.readouterr().err
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()


@pytest.mark.parametrize("argument", ['warehouse:marts.x";drop table marts.y;--', "warehouse:marts", "warehouse:../etc.passwd"])
def test_check_refuses_a_warehouse_table_that_is_not_a_plain_name(argument, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JOURNEYLIFT_HOME", str(tmp_path))
    assert main(["check", argument]) == 1
    assert "is not a plain name" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "warehouse.duckdb")
