"""journeylift's test figures next to the CausalMTA paper's: scored on every test journey and on
the journeys whose duration cannot give their label away; `journeylift compare causalmta`
reads the last run's journey_predictions and writes the table and its figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from dagster_project.cli import main as journeylift
from dagster_project.warehouse import Warehouse
from ml.evaluation import CAUSALMTA_CRITEO, causalmta_comparison, short_journeys
from ml.importers.criteo import SPLIT_FILE

T0 = pd.Timestamp("2017-01-01")


def side_file(hours: list[float], converted: list[bool]) -> pd.DataFrame:
    """An importer journey table: journey_key test-<i>, lasting hours[i]."""
    return pd.DataFrame({
        "journey_key": [f"test-{i}" for i in range(len(hours))],
        "converted": converted,
        "first_impression_ts": T0,
        "last_impression_ts": [T0 + pd.Timedelta(hours=h) for h in hours],
    })


# Non-converted journeys last at most 72 h; two converted ones last longer, and the model
# ranks those first: on the short journeys alone it ranks worse.
JOURNEYS = side_file([10, 72, 30, 50, 20, 100, 200], [False, False, False, True, True, True, True])
P = [0.3, 0.1, 0.5, 0.4, 0.2, 0.9, 0.8]


def predictions(model: str = "lstm") -> pd.DataFrame:
    return pd.DataFrame({
        "model": model, "variant": "no_funnel", "split": "test",
        "journey_id": [f"u{i}@test|{key}" for i, key in enumerate(JOURNEYS["journey_key"])],
        "converted": JOURNEYS["converted"], "p_convert": P,
    })


def test_short_journeys_are_those_no_longer_than_any_non_converted_one():
    assert short_journeys(JOURNEYS).tolist() == [f"test-{i}" for i in range(5)]


def test_comparison_scores_every_and_the_short_test_journeys_beside_the_paper():
    table = causalmta_comparison(pd.concat([predictions("lstm"), predictions("gru4rec")]), JOURNEYS, source="ours")
    ours = table[table["source"] == "ours"].set_index("method")
    assert ours.index.tolist() == ["gru4rec", "lstm"]
    labels = JOURNEYS["converted"].astype(float)
    assert ours.loc["lstm", "auc"] == pytest.approx(roc_auc_score(labels, P))
    assert ours.loc["lstm", "log_loss"] == pytest.approx(log_loss(labels, P))
    assert ours.loc["lstm", "auc_short_journeys"] == pytest.approx(roc_auc_score(labels[:5], P[:5]))
    assert ours.loc["lstm", "auc_short_journeys"] < ours.loc["lstm", "auc"]
    assert ours.loc["lstm", "n_short_journeys"] == 5 and ours.loc["lstm", "n_journeys"] == 7
    paper = table[table["source"] != "ours"].set_index("method")
    assert paper.loc["CausalMTA", "auc"] == 0.9659 and paper.loc["CausalMTA", "log_loss"] == 0.0517
    assert len(paper) == len(CAUSALMTA_CRITEO) and paper["auc_short_journeys"].isna().all()


def test_journeylift_compare_causalmta_reads_the_last_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JOURNEYLIFT_HOME", str(tmp_path / "home"))
    imported = tmp_path / "criteo"
    imported.mkdir()
    JOURNEYS.to_parquet(imported / SPLIT_FILE)
    leaky = predictions().assign(variant="with_funnel", p_convert=JOURNEYS["converted"].astype(float))
    Warehouse().write_table("journeylift", "journey_predictions", pd.concat([predictions(), leaky]))
    assert journeylift(["compare", "causalmta", str(imported)]) == 0
    written = pd.read_csv(tmp_path / "home" / "outputs" / "causalmta_comparison.csv")
    ours = written[written["source"] == "journeylift (no_funnel)"]
    assert ours["method"].tolist() == ["lstm"]  # the honest variant only: with_funnel is left out
    assert ours["auc"].iloc[0] == pytest.approx(roc_auc_score(JOURNEYS["converted"], P))
    assert ours["auc"].iloc[0] < 1.0  # the leaky variant's perfect scores did not get in
    assert (tmp_path / "home" / "outputs" / "causalmta_comparison.png").stat().st_size > 0
    assert "CausalMTA" in capsys.readouterr().out
    assert journeylift(["compare", "causalmta", str(tmp_path)]) == 1  # one line, no traceback
    assert "no causalmta_journey_split.parquet" in capsys.readouterr().err
    assert np.isfinite(written["auc"]).all()
