"""The ad-funnel domain (auctions, impressions, clicks, purchases) flows through the same staging
screen, marts, checks and ML assets as the sessions domain.

- The simulator's journeys follow the rules dbt applies and its truth is what it claims.
- A hand-made folder shows the journey rules (a purchase closes a journey, a gap longer than the
  attribution window opens one) and each ad-funnel row fault quarantined with its reason, no row
  lost (dbt's reconciliation test runs in the build).
- The contract check names a missing table of a half-brought domain, and a source with no domain.
- The whole `journeylift` job runs on JOURNEYLIFT_SOURCE=simulator:ad_funnel, and dbt rebuilds
  exactly the simulator's journeys and labels.
"""

from __future__ import annotations

import dagster as dg
from graph_runs import dbt_models_of, every_date
import duckdb
import numpy as np
import pandas as pd
import pytest

from dagster_project.definitions import build_definitions
from dagster_project.defs.raw.contract_check import SourceContractError, check_contract
from dagster_project.defs.raw.contract_source import build_contract_source
from dagster_project.defs.resources import resource_defs
from dagster_project.settings import Settings, parse_source
from ml.contract import AD_FUNNEL, CONTRACT_TABLES, domain_tables
from ml.simulate.ad_funnel import EVENTS, AdFunnelConfig, simulate_ad_funnel

WINDOW_DAYS = 7  # dbt var attribution_window_days


@pytest.fixture(scope="module")
def sim():
    return simulate_ad_funnel(AdFunnelConfig(n_users=600, seed=5))


def test_the_simulator_writes_the_contract_tables_of_the_domain(sim):
    for table in domain_tables(AD_FUNNEL):
        assert list(getattr(sim, table).columns) == list(CONTRACT_TABLES[table].columns), table


def test_the_simulator_truth_ranks_clicks_above_impressions_and_placements_as_built(sim):
    truth = sim.truth.set_index("intervention")["true_effect"]
    assert set(truth.index) == {"remove_ad_events", *(f"remove_event:{e}" for e in EVENTS)}
    for placement in ("search_top", "product_page", "homepage"):
        assert truth[f"remove_event:click:{placement}"] > truth[f"remove_event:impression:{placement}"] > 0
    assert truth["remove_event:impression:search_top"] > truth["remove_event:impression:homepage"]
    assert truth["remove_ad_events"] > 0


def test_simulated_purchases_close_their_journey_inside_the_window(sim):
    last_touch = sim.impressions.groupby(["user_id", "product_id"])["impression_ts"].max()
    bought = sim.purchases[~sim.purchases["purchase_id"].str.startswith("g")]  # g...: organic
    assert len(bought) == int(sim.journeys["converted"].sum())
    # every ad purchase follows an impression of its pair by less than the window
    first_touch = sim.impressions.groupby(["user_id", "product_id"])["impression_ts"].min()
    key = pd.MultiIndex.from_frame(bought[["user_id", "product_id"]])
    assert (bought["purchase_ts"].to_numpy() > first_touch.reindex(key).to_numpy()).all()
    # organic purchases are of products the user saw no ad for
    organic = sim.purchases[sim.purchases["purchase_id"].str.startswith("g")]
    assert len(organic) > 0
    assert last_touch.reindex(pd.MultiIndex.from_frame(organic[["user_id", "product_id"]])).isna().all()


# ----------------------------------------------------------------- a hand-made folder

T0 = pd.Timestamp("2025-03-03 09:00:00")


def at(**delta) -> str:
    return str(T0 + pd.Timedelta(**delta)) if delta else str(T0)


AUCTIONS = [
    ("a1", "u1", at(seconds=-1), "search_top"),
    ("a2", "u1", at(hours=2), "homepage"),
    ("a3", "u1", at(days=10), "product_page"),
    ("a4", "u2", at(seconds=-1), "search_top"),
    ("a_lost", "u1", at(hours=5), "homepage"),  # no impression: not an event
]
IMPRESSIONS = [
    ("i1", "a1", "u1", "p1", at()),
    ("i2", "a2", "u1", "p1", at(hours=2, seconds=1)),  # after the purchase: a new journey
    ("i3", "a3", "u1", "p1", at(days=10)),  # more than the window later: a new journey
    ("i4", "a4", "u2", "p2", at()),
    ("i5", "a_missing", "u2", "p2", at(minutes=1)),  # fault: unknown_auction_id
    ("i6", "a4", "u2", None, at(minutes=2)),  # fault: null_product_id
    ("i1", "a1", "u1", "p1", at(minutes=3)),  # fault: duplicate_event_id (the later copy)
]
CLICKS = [
    ("c1", "i1", "u1", "p1", at(minutes=1)),
    ("c2", "i_missing", "u1", "p1", at(minutes=2)),  # fault: unknown_impression_id
]
PURCHASES = [
    ("o1", "u1", "p1", at(hours=1), 12.5),
    ("o2", "u2", "p3", at(days=1), 8.0),  # organic: a journey holding only its conversion
]
EXPECTED_JOURNEYS = {
    # journey_id: (converted, no_funnel events)
    "u1|p1|1": (True, ["impression:search_top", "click:search_top"]),
    "u1|p1|2": (False, ["impression:homepage"]),
    "u1|p1|3": (False, ["impression:product_page"]),
    "u2|p2|1": (False, ["impression:search_top"]),
    "u2|p3|1": (True, []),
}
EXPECTED_QUARANTINE = {
    ("impressions", "unknown_auction_id"): 1,
    ("impressions", "null_product_id"): 1,
    ("impressions", "duplicate_event_id"): 1,
    ("clicks", "unknown_impression_id"): 1,
}


def write_ad_folder(folder, tables: dict[str, list[tuple]]):
    """One CSV per table; a row one value longer than its table's columns carries journey_id."""
    columns = {name: list(CONTRACT_TABLES[name].columns) for name in tables}
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        names = columns[name] + (["journey_id"] if rows and len(rows[0]) > len(columns[name]) else [])
        pd.DataFrame(rows, columns=names).to_csv(folder / f"{name}.csv", index=False)
    return folder


def build_folder(folder, home):
    """The contract check and dbt build (the real Dagster assets) over `folder`; its marts."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEYLIFT_HOME", str(home))
        source = parse_source(str(folder))
        result = dg.materialize([build_contract_source(source), *dbt_models_of(source)], resources=resource_defs(),
                                tags=every_date())
    assert result.success  # includes dbt's reconciliation test: raw = accepted + quarantined
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return {
            name: con.sql(f"select * from {name}").df()
            for name in ("marts.fct_journey_labels", "marts.fct_journey_sequences_no_funnel",
                         "staging.quarantine_events", "marts.dim_stores", "intermediate.int_users_split")
        }


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory):
    folder = write_ad_folder(tmp_path_factory.mktemp("ad-source"), {
        "auctions_users": AUCTIONS, "impressions": IMPRESSIONS, "clicks": CLICKS, "purchases": PURCHASES,
    })
    return build_folder(folder, tmp_path_factory.mktemp("ad-home"))


def test_journeys_are_user_x_product_closed_by_a_purchase_or_the_window(hand_made):
    labels = hand_made["marts.fct_journey_labels"].set_index("journey_id")
    assert set(labels.index) == set(EXPECTED_JOURNEYS)
    sequences = hand_made["marts.fct_journey_sequences_no_funnel"].sort_values(["journey_id", "position"])
    for journey, (converted, events) in EXPECTED_JOURNEYS.items():
        assert bool(labels.loc[journey, "converted"]) is converted, journey
        assert sequences.loc[sequences["journey_id"] == journey, "event"].tolist() == events, journey
    # impressions and clicks are the ad events; the product plays the store
    assert sequences["is_sponsored"].all()
    assert set(sequences["store_id"]) <= set(hand_made["marts.dim_stores"]["store_id"])


def test_ad_funnel_row_faults_are_quarantined_with_their_table_and_reason(hand_made):
    quarantine = hand_made["staging.quarantine_events"]
    counts = quarantine.groupby(["source_table", "reason"]).size().to_dict()
    assert counts == EXPECTED_QUARANTINE


# Journeys the data already defines (the optional journey_id column) and pinned splits.
GIVEN_IMPRESSIONS = [
    ("i1", "a1", "u1", "p1", at(), "J1"),
    ("i2", "a2", "u1", "p1", at(days=10), "J1"),  # beyond the window, yet the same given journey
    ("i3", "a3", "u1", "p2", at(hours=1), "J1"),  # another product in the same given journey
    ("i4", "a4", "u2", "p2", at(), None),  # no journey_id: user x product as usual
]
GIVEN_PURCHASES = [("o1", "u1", "p1", at(days=10, hours=1), 5.0, "J1")]
PINNED = {"u1": "validation", "u2": "test"}


def test_given_journey_ids_and_pinned_splits_are_kept(tmp_path):
    folder = write_ad_folder(tmp_path / "given", {
        "auctions_users": AUCTIONS, "impressions": GIVEN_IMPRESSIONS, "purchases": GIVEN_PURCHASES,
        "user_splits": list(PINNED.items()),
    })
    built = build_folder(folder, tmp_path / "home")
    labels = built["marts.fct_journey_labels"].set_index("journey_id")
    assert set(labels.index) == {"u1|J1", "u2|p2|1"}
    assert bool(labels.loc["u1|J1", "converted"]) and not bool(labels.loc["u2|p2|1", "converted"])
    sequence = built["marts.fct_journey_sequences_no_funnel"].query("journey_id == 'u1|J1'").sort_values("position")
    assert sequence["event_id"].tolist() == ["i-i1", "i-i3", "i-i2"]
    assert labels["split"].to_dict() == {"u1|J1": "validation", "u2|p2|1": "test"}
    splits = built["intermediate.int_users_split"].set_index("user_id")
    assert splits["is_split_pinned"].all() and splits["split"].to_dict() == PINNED


def test_a_half_brought_ad_funnel_domain_names_the_missing_table(tmp_path):
    folder = write_ad_folder(tmp_path / "half", {"auctions_users": AUCTIONS, "impressions": IMPRESSIONS[:4]})
    with duckdb.connect() as con, pytest.raises(SourceContractError) as error:
        check_contract(con, parse_source(str(folder)))
    assert error.value.violations == [f"purchases: required table missing (no purchases.parquet or purchases.csv in {folder})"]


def test_a_folder_with_no_domain_says_which_tables_a_source_needs(tmp_path):
    folder = write_ad_folder(tmp_path / "none", {"clicks": CLICKS})
    with duckdb.connect() as con, pytest.raises(SourceContractError) as error:
        check_contract(con, parse_source(str(folder)))
    assert error.value.violations[0].startswith(
        "no domain: a source needs the sessions domain (events, dimension_store) "
        "or the ad-funnel domain (auctions_users, impressions, purchases)"
    )


# ----------------------------------------------------------------- the whole job

N_USERS = 500


def test_the_whole_job_runs_on_the_simulated_ad_funnel(tmp_path_factory, small_run_config):
    home = tmp_path_factory.mktemp("ad-funnel-job")
    ops = small_run_config["ops"]
    ops.pop("simulated_sessions")
    ops["simulated_ad_funnel"] = {"config": {"n_users": N_USERS, "seed": 2}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEYLIFT_HOME", str(home))
        settings = Settings(source=parse_source("simulator:ad_funnel"))
        job = build_definitions(settings).resolve_job_def("journeylift")
        result = job.execute_in_process(run_config=small_run_config, instance=dg.DagsterInstance.ephemeral(),
                                        tags=every_date())
    assert result.success

    sim = simulate_ad_funnel(AdFunnelConfig(n_users=N_USERS, seed=2))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        def frame(sql: str) -> pd.DataFrame:
            return con.sql(sql).df()

        # dbt rebuilds exactly the simulator's journeys (those with ad touches) and their labels
        ad_journeys = frame("""
            select converted from marts.fct_journey_labels l
            where exists (select 1 from intermediate.int_events_enriched e
                          where e.journey_id = l.journey_id and e.is_sponsored)""")
        assert len(ad_journeys) == len(sim.journeys)
        assert int(ad_journeys["converted"].sum()) == int(sim.journeys["converted"].sum())
        metrics = frame("select * from journeylift.model_metrics where split = 'test'")
        predictions = frame("select * from journeylift.journey_predictions")
        effects = frame("select * from journeylift.counterfactual_effects")
        scorecard = frame("select * from journeylift.truth_scorecard")
        truth = frame("select * from journeylift.simulator_truth")
    assert {"lstm", "logreg_counts"} <= set(metrics["model"])
    assert np.isfinite(metrics["auc"]).all()
    # journey_predictions holds the rows behind each test AUC
    from sklearn.metrics import roc_auc_score
    for (model, variant), rows in predictions.groupby(["model", "variant"]):
        reported = metrics.set_index(["model", "variant"]).loc[(model, variant)]
        assert len(rows) == reported["n_journeys"] and set(rows["split"]) == {"test"}
        assert roc_auc_score(rows["converted"], rows["p_convert"]) == pytest.approx(reported["auc"])
    assert {f"remove_event:{e}" for e in EVENTS} <= set(effects["intervention"])
    assert len(truth) == 1 + len(EVENTS)
    assert len(scorecard) > 0
