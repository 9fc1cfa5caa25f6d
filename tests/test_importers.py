"""Importers: the three real samples in ../shared/data mapped onto the raw contract, every input row
mapped or counted with its reason; the OTTO fixture run through the real Dagster job as a folder
source, where a tiny real sample's test split of one class leaves AUC undefined without a crash."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import dagster as dg
from graph_runs import every_date

from dagster_project.cli import main as journeylift
from dagster_project.cli import run_summary
from dagster_project.definitions import build_definitions
from dagster_project.defs.raw.contract_check import check_contract
from dagster_project.settings import Settings, parse_source
from ml.contract import CONTRACT, TEXT, TIMESTAMP
from ml.importers import available_importers, import_dataset, write_contract_table
from ml.importers.criteo import CONVERSION_DELAY, SPLIT_FILE, SPLIT_VALIDATION_PCT, TIMESTAMP_ANCHOR, journey_hours

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OTTO = DATA / "otto_recsys_test_sessions" / "train.jsonl"
REES46 = DATA / "rees46_multicategory_2019oct_head5k" / "user_behavior_sample.csv"
CRITEO_TEST = DATA / "criteo_attribution_causalmta" / "criteo_causalmta_test_touches.csv.gz"
CRITEO_EVERY_NTH = 16  # ~2,000 of the test file's 31,913 journeys

needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"the real samples are not at {DATA}")


def read(out: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"{table}.parquet")


def passes_the_contract_check(out: Path) -> dict[str, str]:
    """The folder-source contract check journeylift runs before loading (raises on a fault)."""
    with duckdb.connect() as con:
        return check_contract(con, parse_source(str(out)))


def report_rows(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "import_report.csv", keep_default_na=False)


def test_the_importers_write_the_columns_of_the_raw_contract(tmp_path):
    """write_contract_table (every importer's writer) keeps exactly the contract's columns, typed by
    their rule, and refuses a frame without a required column."""
    assert available_importers() == ["criteo", "otto", "rees46"]
    for table in CONTRACT:
        values = {TIMESTAMP: pd.Timestamp("2026-10-01 10:00:00")}
        frame = pd.DataFrame({c: [values.get(rule, 1)] for c, rule in table.rules.items()}).assign(not_in_contract=1)
        write_contract_table(frame, tmp_path, table.name)
        written = pd.read_parquet(tmp_path / f"{table.name}.parquet")
        assert list(written.columns) == list(table.rules), table.name
        for column, rule in table.rules.items():
            if rule == TEXT:
                assert written[column].iloc[0] == "1", (table.name, column)
        with pytest.raises(ValueError, match="produced no column"):
            write_contract_table(frame.drop(columns=next(iter(table.columns))), tmp_path, table.name)


# --- OTTO ---------------------------------------------------------------------------------------


@needs_data
def test_otto_sample_through_the_cli(tmp_path, capsys):
    out = tmp_path / "otto"
    assert journeylift(["import", "otto", str(OTTO), str(out)]) == 0
    printed = capsys.readouterr().out
    assert "otto: 862 input rows" in printed
    # OTTO has no sessions: every event lacks session_id, and the report says what the run does
    assert "862 events without session_id: the run joins each to its user's session" in printed
    events, stores = read(out, "events"), read(out, "dimension_store")
    assert len(events) == 862 and events["event_id"].is_unique
    assert events.groupby(["event_type", "event"]).size().to_dict() == {
        ("funnel", "cart"): 52, ("funnel", "purchase"): 10, ("product_click", "click"): 800,
    }
    # an OTTO session is a user over four weeks: journeylift sessionizes it (session_id null)
    assert events["user_id"].nunique() == 20 and events["session_id"].isna().all()
    assert events["event_ts"].min() == pd.Timestamp("2022-07-31 22:00:00.025")
    # the article plays the store: every store id is in dimension_store
    assert set(events["store_id"]) == set(stores["store_id"]) and len(stores) == 510
    assert not events["is_sponsored"].any()
    report = json.loads((out / "import_report.json").read_text())
    assert (report["input_rows"], report["mapped_rows"], report["unmapped"]) == (862, 862, {})
    assert report_rows(out).to_dict("records") == [
        {"dataset": "otto", "status": "mapped", "reason": "", "n_rows": 862, "share_of_input": 1.0}
    ]
    assert set(passes_the_contract_check(out)) == {"events", "dimension_store"}


def test_otto_rows_that_cannot_be_mapped_are_counted_with_their_reason(tmp_path):
    good = {"session": 1, "events": [{"aid": 10, "ts": 1659304800025, "type": "clicks"},
                                     {"aid": 11, "ts": 1659304900025, "type": "orders"}]}
    broken = {"session": 2, "events": [
        {"aid": 12, "ts": 1659304800025, "type": "wishlist"},  # no such OTTO type
        {"ts": 1659304800025, "type": "clicks"},  # no article
        {"aid": 13, "ts": "yesterday", "type": "carts"},  # not unix ms
        "clicks",  # not an event object
        {"aid": 14, "ts": 1659304800025, "type": "carts"},  # fine
    ]}
    again = {"session": 1, "events": [{"aid": 15, "ts": 1659304800025, "type": "clicks"}]}  # session 1 twice
    source = tmp_path / "train.jsonl"
    source.write_text("\n".join([json.dumps(good), "{not json", json.dumps(broken), "", json.dumps(again)]) + "\n")
    report = import_dataset("otto", tmp_path, tmp_path / "out")
    assert report.unmapped == {
        "unreadable_session_line": 1, "unknown_type": 1, "missing_or_bad_aid": 1, "missing_or_bad_ts": 1,
        "malformed_event": 1, "duplicate_session_line": 1,
    }
    assert (report.input_rows, report.mapped_rows) == (9, 3)
    assert read(tmp_path / "out", "events")["event_id"].tolist() == ["otto-1-0", "otto-1-1", "otto-2-4"]
    counted = report_rows(tmp_path / "out")
    assert counted["n_rows"].sum() == report.input_rows


# --- REES46 -------------------------------------------------------------------------------------


@needs_data
def test_rees46_sample(tmp_path):
    out = tmp_path / "rees46"
    report = import_dataset("rees46", REES46, out)
    raw = pd.read_csv(REES46)
    assert report.input_rows == len(raw) == 4999
    assert report.unmapped == {"duplicate_row": 3}  # the same view logged three more times at 02:25:40
    events, stores = read(out, "events"), read(out, "dimension_store")
    assert len(events) == 4996 == len(raw.drop_duplicates())
    assert events.groupby(["event_type", "event"]).size().to_dict() == {
        ("funnel", "cart"): 50, ("funnel", "purchase"): 54, ("product_view", "view"): 4892,
    }
    assert events["session_id"].nunique() == 1898 and events["session_id"].notna().all()
    assert events["event_ts"].min() == pd.Timestamp("2019-10-01 00:00:00")
    # the brand plays the store; events without a brand keep a null store id
    assert set(events["store_id"].dropna()) == set(stores["store_id"]) and len(stores) == 465
    assert events["store_id"].isna().sum() == raw.drop_duplicates()["brand"].isna().sum()
    samsung = stores.set_index("store_id").loc["samsung"]
    assert (samsung["primary_category_name"], samsung["primary_tag_name"]) == ("electronics", "electronics.smartphone")
    assert any("1,377 sessions end within 30 minutes" in note for note in report.notes)
    assert set(passes_the_contract_check(out)) == {"events", "dimension_store"}


def test_rees46_broken_rows_and_sessions_open_at_the_sample_end(tmp_path):
    header = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
    rows = [
        "2019-10-01 00:00:00 UTC,view,1,9,electronics.audio,sony,1.0,7,early",
        "2019-10-01 00:05:00 UTC,purchase,1,9,electronics.audio,sony,1.0,7,early",
        "2019-10-01 00:05:00 UTC,purchase,1,9,electronics.audio,sony,1.0,7,early",  # logged twice
        "2019-10-01 01:50:00 UTC,view,2,9,,,1.0,8,late",  # no brand: a null store id
        "2019-10-01 02:00:00 UTC,cart,2,9,,,1.0,8,late",  # the sample's last event: session maybe open
        "yesterday,view,3,9,,lg,1.0,9,other",
        "2019-10-01 00:10:00 UTC,wishlist,3,9,,lg,1.0,9,other",
        "2019-10-01 00:10:00 UTC,view,3,9,,lg,1.0,,other",
    ]
    source = tmp_path / "sample.csv"
    source.write_text("\n".join([header, *rows]) + "\n")
    kept = import_dataset("rees46", source, tmp_path / "kept")
    assert kept.unmapped == {"duplicate_row": 1, "unparseable_event_time": 1, "unknown_event_type": 1,
                             "missing_user_id": 1}
    assert kept.mapped_rows == 4 and any("1 sessions end within 30 minutes" in n for n in kept.notes)
    assert read(tmp_path / "kept", "events")["event_id"].tolist() == ["rees46-1", "rees46-2", "rees46-4", "rees46-5"]
    dropped = import_dataset("rees46", source, tmp_path / "dropped", drop_open_sessions=True)
    assert dropped.unmapped == {**kept.unmapped, "session_open_at_sample_end": 2}
    assert read(tmp_path / "dropped", "events")["session_id"].unique().tolist() == ["early"]
    # dimension_store follows the kept events
    assert read(tmp_path / "dropped", "dimension_store")["store_id"].tolist() == ["sony"]


# --- Criteo (CausalMTA) -------------------------------------------------------------------------


@needs_data
def test_criteo_slice_maps_onto_the_ad_funnel_tables(tmp_path):
    out = tmp_path / "criteo"
    report = import_dataset("criteo", CRITEO_TEST, out, every_nth_journey=CRITEO_EVERY_NTH)
    touches = pd.read_csv(CRITEO_TEST, usecols=["journey_id", "timestamp", "campaign_idx", "journey_conversion"])
    # CausalMTA's file holds every non-converted journey first: a head slice would never convert
    assert touches.groupby("journey_id")["journey_conversion"].max().head(2000).sum() == 0
    touches = touches[touches["journey_id"] % CRITEO_EVERY_NTH == 0]
    assert report.input_rows == len(touches) and report.unmapped == {}
    impressions, auctions, purchases = read(out, "impressions"), read(out, "auctions_users"), read(out, "purchases")
    assert not (out / "clicks.parquet").exists()  # the data has no clicks
    # one auction per impression, same user and time
    assert len(impressions) == len(auctions) == len(touches) and impressions["auction_id"].is_unique
    joined = impressions.merge(auctions, on="auction_id", suffixes=("", "_auction"))
    assert (joined["user_id"] == joined["user_id_auction"]).all()
    assert (joined["impression_ts"] == joined["auction_ts"]).all()
    # the campaign plays the product; seconds since the dataset's start, anchored at a fixed day
    assert set(impressions["product_id"]) == {f"campaign_{c}" for c in touches["campaign_idx"].unique()}
    assert impressions["impression_ts"].min() == TIMESTAMP_ANCHOR + pd.Timedelta(seconds=int(touches["timestamp"].min()))
    # one purchase per converted journey, one second after its last touch
    labels = touches.groupby("journey_id").agg(converted=("journey_conversion", "max"), last=("timestamp", "max"))
    assert len(purchases) == labels["converted"].sum() > 0
    assert purchases["revenue"].isna().all()
    journeys = pd.read_parquet(out / SPLIT_FILE)
    assert len(journeys) == touches["journey_id"].nunique() == 1995 and set(journeys["split"]) == {"test"}
    # CausalMTA's journeys, given: every touch and the purchase carry their journey's id
    assert (impressions["journey_id"] == impressions["impression_id"].str.rsplit("-", n=1).str[0]).all()
    assert set(purchases["journey_id"]) == set(journeys.loc[journeys["converted"], "journey_key"])
    # their split, pinned: a user per CausalMTA file, test users to test
    user_splits = read(out, "user_splits")
    assert user_splits["user_id"].is_unique and set(user_splits["user_id"]) == set(impressions["user_id"])
    assert user_splits["user_id"].str.endswith("@test").all() and (user_splits["split"] == "test").all()
    bought = journeys.dropna(subset=["purchase_id"]).merge(purchases, on="purchase_id", suffixes=("", "_purchase"))
    assert (bought["purchase_ts"] == bought["last_impression_ts"] + CONVERSION_DELAY).all()
    assert (bought["product_id"] == bought["product_id_purchase"]).all()
    expected_last = TIMESTAMP_ANCHOR + pd.to_timedelta(labels.loc[bought["causalmta_journey_id"], "last"].to_numpy(), unit="s")
    assert (bought["last_impression_ts"].to_numpy() == expected_last.to_numpy()).all()
    # the contract check accepts the ad-funnel domain without clicks
    assert set(passes_the_contract_check(out)) == {"auctions_users", "impressions", "purchases", "user_splits"}
    # what the preprocessing gives away is said: non-converted journeys never last beyond 72 h
    (duration,) = [note for note in report.notes if note.startswith("non-converted journeys last at most")]
    hours = journey_hours(journeys)
    assert hours[~journeys["converted"]].max() <= 72 < hours[journeys["converted"]].max()
    assert "72.0 h" in duration


def test_criteo_splits_train_users_into_train_and_validation_or_leaves_the_split_to_journeylift(tmp_path):
    header = "journey_id,user_idx,touch_pos,journey_len,timestamp,campaign_idx,journey_conversion"
    for split in ("train", "test"):
        with gzip.open(tmp_path / f"criteo_causalmta_{split}_touches.csv.gz", "wt") as f:
            f.write("\n".join([header, *(f"{u},{u},0,1,{100 + u},1,0" for u in range(400))]) + "\n")
    import_dataset("criteo", tmp_path, tmp_path / "pinned")
    pinned = read(tmp_path / "pinned", "user_splits").set_index("user_id")["split"]
    assert len(pinned) == 800 and (pinned[pinned.index.str.endswith("@test")] == "test").all()
    train_side = pinned[pinned.index.str.endswith("@train")]
    assert set(train_side) == {"train", "validation"}
    assert abs((train_side == "validation").mean() * 100 - SPLIT_VALIDATION_PCT) < 5
    # deterministic: a second import pins the same users the same way
    import_dataset("criteo", tmp_path, tmp_path / "again")
    assert read(tmp_path / "again", "user_splits").set_index("user_id")["split"].equals(pinned)
    # by_user: one id per user across both files, no pinned splits
    import_dataset("criteo", tmp_path, tmp_path / "by_user", split="by_user")
    assert not (tmp_path / "by_user" / "user_splits.parquet").exists()
    assert read(tmp_path / "by_user", "impressions")["user_id"].nunique() == 400
    with pytest.raises(ValueError, match="split must be one of"):
        import_dataset("criteo", tmp_path, tmp_path / "bad", split="by_journey")


def test_criteo_broken_touches_make_their_whole_journey_unmappable(tmp_path):
    header = "journey_id,user_idx,touch_pos,journey_len,timestamp,campaign_idx,journey_conversion"
    rows = [
        "0,5,0,2,100,3,1", "0,5,1,2,200,3,1",  # fine: converts
        "1,6,0,3,100,1,0", "1,6,1,3,150,12,0", "1,6,2,3,160,1,0",  # campaign 12 does not exist
        "2,7,0,2,100,2,0", "2,7,1,2,120,2,1",  # touches disagree on the label
        "3,8,0,2,soon,4,0", "3,8,1,2,130,4,0",  # timestamp not a number
        "4,9,0,2,100,5,0", "4,9,0,2,100,5,0", "4,9,1,2,300,5,0",  # a touch logged twice
    ]
    source = tmp_path / "criteo_causalmta_test_touches.csv.gz"
    with gzip.open(source, "wt") as f:
        f.write("\n".join([header, *rows]) + "\n")
    report = import_dataset("criteo", source, tmp_path / "out")
    assert report.unmapped == {"unknown_campaign": 1, "inconsistent_journey": 2, "unparseable_timestamp": 1,
                               "duplicate_touch": 1, "journey_has_unmapped_touch": 3}
    assert report.mapped_rows == 4 and report.input_rows == len(rows)
    # journeys 0 and 4 (its copy dropped) stay whole; journeys 1, 2 and 3 go whole
    assert read(tmp_path / "out", "impressions")["impression_id"].tolist() == ["test-0-0", "test-0-1", "test-4-0", "test-4-1"]
    assert read(tmp_path / "out", "purchases")["purchase_id"].tolist() == ["purchase-test-0"]
    assert report_rows(tmp_path / "out")["n_rows"].sum() == len(rows)
    with pytest.raises(ValueError, match="cannot tell the split"):
        import_dataset("criteo", tmp_path / "out" / "impressions.parquet", tmp_path / "elsewhere")


# --- what real data breaks: the OTTO fixture through the whole graph ------------------------------


def test_figures_say_so_when_test_auc_is_undefined():
    import matplotlib.pyplot as plt

    from ml.reporting import leaderboard_figure, leakage_comparison_figure

    board = pd.DataFrame({"model": ["lstm", "lstm", "gru4rec"], "variant": ["no_funnel", "with_funnel", "no_funnel"],
                          "test_auc": [np.nan, np.nan, np.nan]})
    for figure in (leaderboard_figure(board),
                   leakage_comparison_figure(board, pd.DataFrame({"variant": ["no_funnel"], "event": ["click"],
                                                                  "effect": [0.01]}))):
        texts = [t.get_text() for ax in figure.axes for t in ax.texts]
        assert any("test AUC undefined" in t for t in texts)
        plt.close(figure)


@needs_data
def test_the_otto_fixture_runs_through_the_whole_graph(tmp_path, small_run_config):
    """20 real users: sessionized into short journeys (many of one event), few conversions, and a
    test split whose journeys are all of one class, so AUC is undefined there: said, not a crash."""
    source, home = tmp_path / "otto", tmp_path / "home"
    import_dataset("otto", OTTO, source)
    config = {"ops": {op: c for op, c in small_run_config["ops"].items() if op != "simulated_sessions"}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEYLIFT_HOME", str(home))
        result = build_definitions(Settings(source=parse_source(str(source)))).resolve_job_def(
            "journeylift").execute_in_process(run_config=config, instance=dg.DagsterInstance.ephemeral(),
                                              tags=every_date())
        summary = run_summary()
    assert result.success
    raw = result.asset_materializations_for_node("contract_source")[0]
    assert raw.metadata["rows"].value == 862

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from staging.quarantine_events").fetchall()[0][0] == 0
        labels = con.sql("select * from marts.fct_journey_labels").df()
        metrics = con.sql("select * from journeylift.model_metrics").df()
        for table in ("event_type_attribution", "position_attribution", "store_attribution",
                      "counterfactual_effects", "leaderboard", "leakage_report"):
            assert con.execute(f"select count(*) from journeylift.{table}").fetchall()[0][0] > 0, table
    # sessionized by 30 minutes of inactivity: every event in one journey, many journeys of one event
    assert labels["n_events"].sum() == 862 and labels["user_id"].nunique() == 20
    assert (labels["n_events"] == 1).sum() > 0 and labels["converted"].sum() > 0
    one_class = {split for split, g in labels.groupby("split") if g["converted"].nunique() == 1}
    assert "test" in one_class  # what this fixture exercises
    for row in metrics.itertuples():
        assert np.isfinite(row.log_loss)
        assert np.isnan(row.auc) if row.split in one_class else np.isfinite(row.auc)
    (model_metrics,) = result.asset_materializations_for_node("journeylift__model_metrics")
    assert "test" in model_metrics.metadata["auc_undefined_splits"].value
    assert (home / "outputs" / "leaderboard.png").exists() and (home / "outputs" / "leakage_report.png").exists()
    assert "AUC undefined, the test split holds journeys of one class only" in summary
    assert "remove_ad_events: no test journey holds an ad event" in summary


@needs_data
def test_a_criteo_slice_runs_through_the_whole_graph_on_causalmtas_split(tmp_path, small_run_config, capsys):
    """Every 64th journey of both CausalMTA files: their journeys and split kept through dbt,
    Markov and Shapley over the campaigns, and the comparison with the paper from the run."""
    source, home = tmp_path / "criteo", tmp_path / "home"
    import_dataset("criteo", CRITEO_TEST.parent, source, every_nth_journey=64)
    side = pd.read_parquet(source / SPLIT_FILE)
    config = {"ops": {op: c for op, c in small_run_config["ops"].items() if op != "simulated_sessions"}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEYLIFT_HOME", str(home))
        result = build_definitions(Settings(source=parse_source(str(source)))).resolve_job_def(
            "journeylift").execute_in_process(run_config=config, instance=dg.DagsterInstance.ephemeral(),
                                              tags=every_date())
        assert result.success
        assert journeylift(["compare", "causalmta", str(source)]) == 0
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        labels = con.sql("select * from marts.fct_journey_labels").df()
        stores = con.sql("select * from journeylift.store_attribution where variant = 'no_funnel'").df()
        predictions = con.sql("select * from journeylift.journey_predictions where variant = 'no_funnel'").df()
    # CausalMTA's journeys, whole, each in the split of its file (train-file users: train or validation)
    assert len(labels) == len(side) and labels["converted"].sum() == side["converted"].sum()
    file_split = labels["journey_id"].str.rsplit("|", n=1).str[-1].str.split("-").str[0]
    assert ((file_split == "test") == (labels["split"] == "test")).all()
    assert set(labels.loc[file_split == "train", "split"]) == {"train", "validation"}
    # the campaigns play the stores: Markov and Shapley credit them, shares summing to 1
    channels = stores[stores["method"].isin(["markov_removal", "shapley"])]
    assert set(channels["store_id"]) <= {f"campaign_{c}" for c in range(10)} and len(channels) > 0
    assert channels.groupby("method")["mean_score"].sum().to_numpy() == pytest.approx([1.0, 1.0])
    # every honest model scored every test journey; the comparison reads them
    assert (predictions.groupby("model").size() == (labels["split"] == "test").sum()).all()
    comparison = pd.read_csv(home / "outputs" / "causalmta_comparison.csv")
    assert set(comparison.loc[comparison["source"].str.startswith("journeylift"), "method"]) == set(predictions["model"])
    assert "0.9659" in capsys.readouterr().out  # the paper's CausalMTA row
