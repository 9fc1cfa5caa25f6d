"""The `bidding` asset group materializes in-process against a temporary warehouse: the policies
(an MLflow run, the agent registered), the evaluation table and its paired intervals, the figures;
`journeylift bid evaluate` then runs the stored policies on fresh days."""

from __future__ import annotations

import dagster as dg
import duckdb
import mlflow
import pytest

from dagster_project.cli import main
from dagster_project.defs.ml.bidding import bidding_evaluation, bidding_intervals, bidding_policies
from dagster_project.defs.resources import resource_defs
from dagster_project.tracking import REGISTERED_BIDDER, MlflowTracking
from ml.bidding.evaluation import COLUMNS, ORACLE


def test_the_bidding_group_writes_its_tables_figures_and_registered_agent(journeylift_home, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(journeylift_home / "dagster"))
    assert main(["bid", "evaluate", "--episodes", "1"]) == 1
    assert "no trained policies" in capsys.readouterr().err
    config = {
        "bidding__policies": {"config": {"n_journeys": 120, "n_log_episodes": 1, "agent_epochs": 1, "predictor_users": 500}},
        "journeylift__bidding_evaluation": {"config": {"seed": 1, "episodes": 2}},
    }
    with dg.DagsterInstance.get() as instance:  # the CLI reads the policies from this instance's storage
        result = dg.materialize(
            [bidding_policies, bidding_evaluation, bidding_intervals], resources=resource_defs(),
            run_config={"ops": config}, instance=instance,
        )
    assert result.success
    with duckdb.connect(str(journeylift_home / "warehouse.duckdb"), read_only=True) as con:
        table = con.sql("select * from journeylift.bidding_evaluation").df()
        intervals = con.sql("select * from journeylift.bidding_intervals").df()
    assert list(table.columns) == COLUMNS
    assert set(table["budget_ratio"]) == {0.25, 0.5, 1.0, 1.5} and set(table["episode_seed"]) == {1, 2}
    assert (table["spend"] <= table["budget"] + 1e-9).all()
    assert (table.loc[table["policy"] == ORACLE, "oracle_share"] == 1.0).all()
    assert "agent" in set(table["policy"])
    reference = intervals["reference"].iloc[0]
    pooled = intervals[(intervals["budget_ratio"] == "all") & (intervals["policy"] == reference)].iloc[0]
    assert pooled["gain_vs_best_classical"] == pytest.approx(0.0)
    for figure in ("bidding_oracle_share.png", "bidding_pacing.png"):
        assert (journeylift_home / "outputs" / figure).stat().st_size > 10_000
    MlflowTracking().use()
    versions = mlflow.MlflowClient().search_model_versions(f"name = '{REGISTERED_BIDDER}'")
    assert len(versions) == 1

    capsys.readouterr()
    assert main(["bid", "evaluate", "--seed", "40", "--budget-ratio", "0.5", "--episodes", "2"]) == 0
    printed = capsys.readouterr().out
    assert "seeds 40..41" in printed and "agent" in printed and "oracle_predicted" in printed
    assert main(["bid", "evaluate", "--budget-ratio", "0.3", "--episodes", "1"]) == 1


def test_an_unknown_agent_is_refused(journeylift_home):
    with pytest.raises(ValueError, match="unknown agents"):
        dg.materialize(
            [bidding_policies], resources=resource_defs(),
            run_config={"ops": {"bidding__policies": {"config": {"agents": ["agent_gpt"]}}}},
        )
