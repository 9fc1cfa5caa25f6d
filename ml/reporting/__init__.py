"""Figures people would rather look at than tables."""

from ml.reporting.plots import (
    POSITION_BUCKET_ORDER,
    attribution_report_figure,
    counterfactual_figure,
    faithfulness_figure,
    leaderboard_figure,
    leakage_comparison_figure,
    literature_comparison_figure,
    scorecard_figure,
)

__all__ = [
    "POSITION_BUCKET_ORDER",
    "attribution_report_figure",
    "counterfactual_figure",
    "faithfulness_figure",
    "leaderboard_figure",
    "leakage_comparison_figure",
    "literature_comparison_figure",
    "scorecard_figure",
]
