"""Figures people would rather look at than tables."""

from ml.reporting.plots import (
    attribution_report_figure,
    counterfactual_figure,
    effects_figure,
    faithfulness_figure,
    grounding_figure,
    leaderboard_figure,
    leakage_comparison_figure,
    literature_comparison_figure,
    scorecard_figure,
)
from ml.reporting.history import (
    HISTORY_COLUMNS,
    append_history,
    history_figure,
    history_rows,
    interval_departures,
    window_end,
)
from ml.reporting.summary import SUMMARY_TABLES, effect_rows, experiment_row, quarantine_lines, summary_model, summary_text

__all__ = [
    "HISTORY_COLUMNS",
    "append_history",
    "history_figure",
    "history_rows",
    "interval_departures",
    "window_end",
    "SUMMARY_TABLES",
    "attribution_report_figure",
    "counterfactual_figure",
    "effect_rows",
    "effects_figure",
    "experiment_row",
    "faithfulness_figure",
    "grounding_figure",
    "leaderboard_figure",
    "leakage_comparison_figure",
    "literature_comparison_figure",
    "quarantine_lines",
    "scorecard_figure",
    "summary_model",
    "summary_text",
]
