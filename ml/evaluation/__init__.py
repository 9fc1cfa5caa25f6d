"""Predictions, evaluation metrics and journey embeddings of trained sequence models."""

from ml.evaluation.embeddings import journey_embeddings
from ml.evaluation.leakage_comparison import leakage_comparison, top_events
from ml.evaluation.literature import CAUSALMTA_CRITEO, causalmta_comparison, short_journeys
from ml.evaluation.leaderboard import (
    COUNT_BASELINE,
    LEADERBOARD_COLUMNS,
    Promotion,
    best_honest_model,
    leaderboard,
    leaderboard_row,
    promotion_candidate,
)
from ml.evaluation.metrics import (
    evaluate,
    expected_calibration_error,
    model_metrics,
    predict_logits,
    predict_proba,
    score_predictions,
)
from ml.evaluation.scoring import (
    CHALLENGER,
    CHAMPION,
    ChampionDecision,
    champion_decision,
    encoding_dict,
    journeys_to_score,
    recent_test_journeys,
    score_journeys,
    window_auc,
)
from ml.evaluation.truth import (
    METRIC_DIRECTIONS,
    SCORECARD_COLUMNS,
    best_of_scorecard,
    position_weight_error,
    scored_effects,
    kendall,
    spearman,
    true_bucket_weights,
    truth_scorecard,
)

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "ChampionDecision",
    "champion_decision",
    "encoding_dict",
    "journeys_to_score",
    "recent_test_journeys",
    "score_journeys",
    "window_auc",
    "CAUSALMTA_CRITEO",
    "causalmta_comparison",
    "short_journeys",
    "METRIC_DIRECTIONS",
    "SCORECARD_COLUMNS",
    "best_of_scorecard",
    "position_weight_error",
    "scored_effects",
    "kendall",
    "spearman",
    "true_bucket_weights",
    "truth_scorecard",
    "COUNT_BASELINE",
    "LEADERBOARD_COLUMNS",
    "best_honest_model",
    "Promotion",
    "leaderboard",
    "leakage_comparison",
    "top_events",
    "leaderboard_row",
    "promotion_candidate",
    "evaluate",
    "expected_calibration_error",
    "journey_embeddings",
    "model_metrics",
    "predict_logits",
    "predict_proba",
    "score_predictions",
]
