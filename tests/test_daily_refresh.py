"""The daily refresh end to end: a simulated source fed one day at a time through the journeylift
job's event-date partitions (what the schedule launches), with scoring by a champion model, the
attribution history, and a backfill of the same days; then a worse challenger that must not
replace the champion."""

from __future__ import annotations

import dagster as dg
import duckdb
import mlflow
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dagster_project.definitions import build_definitions
from dagster_project.defs.ml.training import model_key
from dagster_project.partitions import range_tags
from dagster_project.settings import Settings
from dagster_project.tracking import REGISTERED_MODEL, MlflowTracking
from ml.data import HONEST_VARIANT
from ml.evaluation import CHALLENGER, CHAMPION

DAYS = ["2026-10-01", "2026-10-02", "2026-10-03"]
SETTINGS = Settings(model_families=("logreg_counts", "gru4rec"))
MARTS = ["marts.fct_journey_labels", "marts.fct_journey_sequences_no_funnel", "marts.fct_journey_sequences_with_funnel"]


def run_config() -> dict:
    ops = {"simulated_sessions": {"config": {"n_users": 900, "days": len(DAYS), "start": DAYS[0]}}}
    for variant in ("no_funnel", "with_funnel", "funnel_excluded_only"):
        ops[f"models__gru4rec__{variant}"] = {"config": {"epochs": 3 if variant == "no_funnel" else 2}}
        ops[f"models__logreg_counts__{variant}"] = {"config": {"epochs": 2}}
    ops["attributions"] = {"config": {"methods": ["grad_x_input"]}}
    ops["faithfulness"] = {"config": {"max_journeys": 30}}
    ops["journeylift__ad_effects"] = {"config": {"n_boot": 100}}
    ops["journeylift__counterfactual_effects"] = {"config": {"n_boot": 50}}
    return {"ops": ops}


def tables(home, *names) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return {name: con.sql(f"select * from {name} order by all").df() for name in names}


def aliases() -> dict[str, str]:
    MlflowTracking().use()
    return dict(mlflow.MlflowClient().get_registered_model(REGISTERED_MODEL).aliases)


def materialization(result, name: str) -> dg.AssetMaterialization:
    [event] = [e.materialization for e in result.get_asset_materialization_events()
               if e.materialization.asset_key == dg.AssetKey(["journeylift", name])]
    return event


@pytest.fixture(scope="module")
def fed_daily(tmp_path_factory):
    """Three daily runs, day 3 again, then a worse challenger on day 3 (same home and instance)."""
    home = tmp_path_factory.mktemp("daily-home")
    runs, after = [], []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOURNEYLIFT_HOME", str(home))
        job = build_definitions(SETTINGS).resolve_job_def("journeylift")
        instance = dg.DagsterInstance.ephemeral()
        for day in DAYS:
            runs.append(job.execute_in_process(partition_key=day, run_config=run_config(), instance=instance))
            assert runs[-1].success, day
            after.append(tables(home, *MARTS, "journeylift.journey_scores", "journeylift.attribution_history"))
        aliases_before = aliases()
        rerun = job.execute_in_process(partition_key=DAYS[-1], run_config=run_config(), instance=instance)
        assert rerun.success
        after_rerun = tables(home, *MARTS, "journeylift.attribution_history")
        aliases_after_rerun = aliases()
        # A deliberately worse challenger: gru4rec after one epoch. The count baseline is held at
        # its starting point (learning rate 0, AUC 0.5) so the challenger is still registered, and
        # so has to face the champion on the same recent test journeys.
        worse_ops = {"models__gru4rec__no_funnel": {"config": {"epochs": 1}},
                     "models__logreg_counts__no_funnel": {"config": {"epochs": 1, "lr": 0.0}}}
        selection = [model_key(name, HONEST_VARIANT) for name in SETTINGS.model_families] + [
            dg.AssetKey(["journeylift", name]) for name in ("leaderboard", "model_promotion", "journey_scores")]
        worse = job.execute_in_process(partition_key=DAYS[-1], run_config={"ops": worse_ops}, instance=instance,
                                       asset_selection=selection)
        assert worse.success
        aliases_after_worse = aliases()
    return {"home": home, "runs": runs, "after": after, "rerun": rerun, "after_rerun": after_rerun,
            "aliases_before": aliases_before, "aliases_after_rerun": aliases_after_rerun, "worse": worse,
            "aliases_after_worse": aliases_after_worse}


def test_each_day_is_scored_and_adds_a_point_to_the_history(fed_daily):
    for n, (day, run, after) in enumerate(zip(DAYS, fed_daily["runs"], fed_daily["after"]), start=1):
        scores = after["journeylift.journey_scores"]
        assert len(scores) > 0 and set(scores["scoring_date"].astype(str)) == {day}
        assert scores["p_convert"].between(0, 1).all() and scores["model_version"].notna().all()
        assert scores["on_newest_day"].any()
        history = after["journeylift.attribution_history"]
        assert sorted(history["window_end"].dt.strftime("%Y-%m-%d").unique()) == DAYS[:n]
        assert {"event", "ad", "position"} <= set(history["kind"])
        newest = history[history["window_end"] == day]
        assert newest.loc[newest["kind"] == "event", ["ci_low", "ci_high"]].notna().all().all()
        figure = materialization(run, "attribution_history").metadata
        assert figure["figure_points"].value == n
        assert (fed_daily["home"] / "outputs" / "journey_scores.parquet").is_file()
    # the interval check ran on every history materialization (a warning, never a stop)
    evaluations = [e for e in fed_daily["runs"][-1].get_asset_check_evaluations()
                   if e.check_name == "estimates_within_previous_interval"]
    assert len(evaluations) == 1 and evaluations[0].severity == dg.AssetCheckSeverity.WARN


def test_rerunning_a_day_changes_no_row(fed_daily):
    last = fed_daily["after"][-1]
    for name in [*MARTS, "journeylift.attribution_history"]:
        assert_frame_equal(fed_daily["after_rerun"][name], last[name], obj=name, check_exact=False, atol=1e-9)


def test_the_first_champion_and_a_worse_challenger_keeps_it(fed_daily):
    first = materialization(fed_daily["runs"][0], "model_promotion").metadata
    assert first["promoted"].value is True and "first champion" in first["reason"].value
    before = fed_daily["aliases_after_rerun"]
    assert CHAMPION in before and CHALLENGER in before
    worse = materialization(fed_daily["worse"], "model_promotion").metadata
    print("worse challenger:", worse["reason"].value)
    assert worse["promoted"].value is False
    assert "does not beat the champion" in worse["reason"].value and "champion kept" in worse["reason"].value
    after = fed_daily["aliases_after_worse"]
    assert after[CHAMPION] == before[CHAMPION] and after[CHALLENGER] != before[CHALLENGER]
    scores = tables(fed_daily["home"], "journeylift.journey_scores")["journeylift.journey_scores"]
    assert set(scores["model_version"]) == {str(before[CHAMPION])}  # the champion keeps scoring


def test_a_backfill_of_the_days_gives_the_same_marts_and_history_keys(fed_daily, tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEYLIFT_HOME", str(tmp_path))
    job = build_definitions(SETTINGS).resolve_job_def("journeylift")
    result = job.execute_in_process(run_config=run_config(), instance=dg.DagsterInstance.ephemeral(),
                                    tags=range_tags(DAYS[0], DAYS[-1]))
    assert result.success
    backfilled = tables(tmp_path, *MARTS, "journeylift.attribution_history")
    daily = fed_daily["after"][-1]
    for name in MARTS:
        assert_frame_equal(backfilled[name], daily[name], obj=name)
    key = ["window_end", "kind", "model", "variant", "method", "item"]
    history = backfilled["journeylift.attribution_history"]
    newest_daily = daily["journeylift.attribution_history"]
    newest_daily = newest_daily[newest_daily["window_end"] == DAYS[-1]]
    assert_frame_equal(history[key].reset_index(drop=True), newest_daily[key].reset_index(drop=True))
