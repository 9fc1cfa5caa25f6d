"""ml.evaluation: calibration error and journey embeddings."""

import numpy as np
import pytest
import torch

from ml.data import build_sequence_data, planted_signal_frames
from ml.evaluation import expected_calibration_error, journey_embeddings, score_predictions
from ml.models import build_model

torch.set_num_threads(1)


def test_expected_calibration_error_known_answers():
    labels = np.array([0, 0, 1, 1])
    assert expected_calibration_error(labels, np.array([0.0, 0.0, 1.0, 1.0])) == pytest.approx(0.0)
    # Every prediction 0.5 while half convert: calibrated.
    assert expected_calibration_error(labels, np.full(4, 0.5)) == pytest.approx(0.0)
    # Two bins: p=0.1 for two journeys that both convert (gap 0.9), p=0.9 for two that don't (gap 0.9).
    assert expected_calibration_error(np.array([1, 1, 0, 0]), np.array([0.1, 0.1, 0.9, 0.9])) == pytest.approx(0.9)
    # Bins weigh by their share of journeys: one bin of 3 perfect, one of 1 off by 0.8.
    value = expected_calibration_error(np.array([1, 1, 1, 0]), np.array([1.0, 1.0, 1.0, 0.8]))
    assert value == pytest.approx(0.8 / 4)
    assert "ece" in score_predictions(labels, np.full(4, 0.5))


def test_journey_embeddings_are_the_representation_in_journey_order():
    data = build_sequence_data(*planted_signal_frames(n_journeys=60, seed=1), max_len=12)
    torch.manual_seed(0)
    model = build_model("lstm", data.spec, hidden_size=8, embedding_dim=4).eval()
    frame = journey_embeddings(model, data, split="test")
    test = data.indices("test")
    assert list(frame["journey_id"]) == list(data.journey_id[test])
    assert (frame["split"] == "test").all()
    assert frame["embedding"].iloc[0].shape == (8,)
    from ml.data import collate_journeys

    expected = model.representation(collate_journeys(data, test[:1])).detach().numpy()[0]
    np.testing.assert_allclose(frame["embedding"].iloc[0], expected, rtol=1e-5, atol=1e-6)


def _board(rows):
    from ml.evaluation import leaderboard

    full = [
        {"test_log_loss": 0.5, "test_ece": 0.02, "train_seconds": 1.0, "events_per_s": 1e4, "best_epoch": 1, **r}
        for r in rows
    ]
    return leaderboard(full)


def test_promotion_picks_the_best_honest_model_by_validation_auc():
    from ml.evaluation import promotion_candidate

    board = _board([
        {"model": "lstm", "variant": "no_funnel", "test_auc": 0.74, "validation_auc": 0.76},
        {"model": "transformer_cls", "variant": "no_funnel", "test_auc": 0.75, "validation_auc": 0.75},
        {"model": "logreg_counts", "variant": "no_funnel", "test_auc": 0.70, "validation_auc": 0.71},
        {"model": "lstm", "variant": "with_funnel", "test_auc": 0.99, "validation_auc": 0.99},
    ])
    promotion = promotion_candidate(board, guard_passed=True)
    assert promotion.model == "lstm"  # chosen on validation, never on test; leaky variant ignored
    assert "0.7400 > logreg_counts 0.7000" in promotion.reason


def test_no_promotion_without_the_guard_or_without_beating_the_baseline():
    from ml.evaluation import promotion_candidate

    board = _board([
        {"model": "lstm", "variant": "no_funnel", "test_auc": 0.69, "validation_auc": 0.76},
        {"model": "logreg_counts", "variant": "no_funnel", "test_auc": 0.70, "validation_auc": 0.71},
    ])
    assert promotion_candidate(board, guard_passed=True).model is None
    assert "does not beat logreg_counts" in promotion_candidate(board, guard_passed=True).reason
    better = board.assign(test_auc=board["model"].map({"lstm": 0.75, "logreg_counts": 0.70}))
    assert promotion_candidate(better, guard_passed=True).model == "lstm"
    assert promotion_candidate(better, guard_passed=False).model is None
    no_baseline = better[better["model"] != "logreg_counts"]
    assert "was not trained" in promotion_candidate(no_baseline, guard_passed=True).reason


def test_the_summary_reads_the_model_the_promotion_rule_picks():
    """One rule: the count baseline is never the summary's model even with the best validation AUC,
    and the promoted model, when there is one, is the one the summary reads."""
    from ml.evaluation import best_honest_model, promotion_candidate
    from ml.reporting import summary_model

    board = _board([
        {"model": "lstm", "variant": "no_funnel", "test_auc": 0.74, "validation_auc": 0.72},
        {"model": "logreg_counts", "variant": "no_funnel", "test_auc": 0.70, "validation_auc": 0.80},
        {"model": "gru4rec", "variant": "with_funnel", "test_auc": 0.99, "validation_auc": 0.99},
    ])
    assert best_honest_model(board) == "lstm" == promotion_candidate(board, guard_passed=True).model
    assert summary_model(board.assign(is_promoted=False)) == "lstm"  # not promoted: the candidate
    assert summary_model(board.assign(is_promoted=board["model"] == "lstm")) == "lstm"
    assert best_honest_model(board[board["model"] == "logreg_counts"]) is None


def test_leakage_comparison_lists_auc_and_top_events_per_variant():
    import pandas as pd

    from ml.evaluation import leakage_comparison

    metrics = pd.DataFrame(
        {
            "model": "lstm",
            "variant": ["no_funnel", "no_funnel", "funnel_excluded_only"],
            "split": ["validation", "test", "test"],
            "auc": [0.75, 0.74, 0.93],
        }
    )
    effects = pd.DataFrame(
        {
            "model": "lstm",
            "variant": ["no_funnel"] * 3 + ["funnel_excluded_only"] * 2,
            "intervention": ["remove_ad_events", "remove_event:m_card_click", "remove_event:core_search",
                             "remove_event:m_select_tab_orders", "remove_event:m_card_click"],
            "effect": [0.9, 0.08, 0.02, 0.30, 0.07],
        }
    )
    table = leakage_comparison(metrics, effects, n_top=2).set_index("variant")
    assert table.loc["no_funnel", "test_auc"] == 0.74
    assert table.loc["no_funnel", "top_events"] == "m_card_click, core_search"  # ads are not an event
    assert table.loc["funnel_excluded_only", "top_events"] == "m_select_tab_orders, m_card_click"
