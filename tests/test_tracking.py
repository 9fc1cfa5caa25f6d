"""MLflow goes to the store of the JOURNEYLIFT_HOME a run uses, even after another run in the same
process pointed mlflow at its own store (mlflow.set_tracking_uri writes MLFLOW_TRACKING_URI
into the environment, which must not be mistaken for the user's setting)."""

import os

import mlflow

from dagster_project.tracking import MlflowTracking


def test_a_second_home_in_the_same_process_gets_its_own_store(tmp_path, monkeypatch):
    tracking = MlflowTracking()
    for home in (tmp_path / "first", tmp_path / "second"):
        monkeypatch.setenv("JOURNEYLIFT_HOME", str(home))
        tracking.use()
        expected = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
        assert tracking.resolved_uri() == expected
        assert mlflow.get_tracking_uri() == expected
        assert mlflow.get_experiment_by_name("journeylift") is not None
    assert os.environ["MLFLOW_TRACKING_URI"].startswith("sqlite:///")  # what mlflow leaves behind
