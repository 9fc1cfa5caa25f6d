"""Predictions and evaluation metrics of trained sequence models."""

from ml.evaluation.metrics import evaluate, model_metrics, predict_logits, predict_proba, score_predictions

__all__ = ["evaluate", "model_metrics", "predict_logits", "predict_proba", "score_predictions"]
