"""The summary a run ends with leads with effects in probability points, with intervals, next to
the truth, flags an interval that spans zero, and says which model is registered by which rule."""

import pandas as pd

from ml.data import HONEST_VARIANT
from ml.reporting import effect_rows, effects_figure, experiment_row, summary_text
from ml.reporting.summary import SPANS_ZERO


def _tables() -> dict[str, pd.DataFrame]:
    board = pd.DataFrame({
        "model": ["gru4rec", "lstm", "logreg_counts"], "variant": HONEST_VARIANT,
        "validation_auc": [0.70, 0.65, 0.60], "test_auc": [0.66, 0.68, 0.58], "is_promoted": [True, False, False],
    })
    metrics = pd.DataFrame({"run_id": "r1", "model": ["gru4rec", "lstm", "logreg_counts"], "variant": HONEST_VARIANT,
                            "split": "test", "auc": [0.66, 0.68, 0.58]})
    effects = pd.DataFrame({
        "model": "gru4rec", "variant": HONEST_VARIANT,
        "intervention": ["remove_event:m_card_click", "remove_ad_events", "remove_event:m_card_view"],
        "n_journeys": [80, 80, 120], "effect": [0.029, 0.001, -0.184],
        "ci_low": [0.021, -0.015, -0.202], "ci_high": [0.036, 0.013, -0.169],
    })
    truth = pd.DataFrame({"intervention": ["remove_event:m_card_click", "remove_ad_events", "ad_experiment_exposed"],
                          "true_effect": [0.089, 0.055, 0.031]})
    ad_effects = pd.DataFrame({"model": ["experiment"], "intervention": ["ad_experiment_exposed"], "effect": [0.089],
                               "ci_low": [-0.026], "ci_high": [0.182], "n_journeys": [456], "n_holdout_journeys": [58]})
    return {"model_metrics": metrics, "leaderboard": board, "counterfactual_effects": effects,
            "simulator_truth": truth, "ad_effects": ad_effects}


def test_the_summary_leads_with_effects_in_points_and_flags_zero_spanning_intervals():
    lines = summary_text(_tables()).splitlines()
    first_block = lines[lines.index(next(line for line in lines if line.startswith("What moves conversion"))):]
    assert lines.index(first_block[0]) < lines.index(next(line for line in lines if line.startswith("Test AUC")))
    card_click = next(line for line in first_block if line.strip().startswith("m_card_click"))
    assert "+2.9 pp" in card_click and "[+2.1, +3.6]" in card_click and "+8.9 pp" in card_click
    assert SPANS_ZERO not in card_click
    ads = next(line for line in first_block if line.strip().startswith("ad events (all)"))
    assert SPANS_ZERO in ads  # [-1.5, +1.3]
    holdout = first_block.index(next(line for line in first_block if "randomized holdout" in line))
    assert "+8.9 pp [-2.6, +18.2]" in first_block[holdout] and "truth +3.1 pp" in first_block[holdout]
    assert SPANS_ZERO in first_block[holdout + 1]


def test_the_summary_names_the_promotion_rule_and_why_not_the_higher_test_auc():
    text = summary_text(_tables())
    registered = next(line for line in text.splitlines() if line.startswith("Registered in MLflow"))
    assert "gru4rec" in registered and "best validation AUC" in registered and "beats logreg_counts" in registered
    assert "lstm has the higher test AUC" in text


def test_lifts_come_after_the_effects_with_what_they_mean():
    tables = _tables()
    tables["event_type_attribution"] = pd.DataFrame({
        "model": "gru4rec", "variant": HONEST_VARIANT, "method": "grad_x_input", "event": ["m_card_click"],
        "mean_signed_score": [-0.002], "lift": [0.85], "n_events": [236],
    })
    text = summary_text(tables)
    assert text.index("What moves conversion") < text.index("Shares and lifts")
    assert "not that the event lowers conversion" in text


def test_the_effects_figure_draws_every_row_and_the_holdout(tmp_path):
    tables = _tables()
    rows = effect_rows(tables["counterfactual_effects"], "gru4rec", tables["simulator_truth"])
    figure = effects_figure(rows, experiment_row(tables["ad_effects"], tables["simulator_truth"]), "effects")
    labels = [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
    assert labels == ["m_card_view", "ad events (all)", "m_card_click", "ad effect, randomized holdout"]
    figure.savefig(tmp_path / "effects.png")


def test_the_auc_table_tells_a_model_not_trained_on_a_variant_from_an_undefined_auc():
    tables = _tables()
    leaky = pd.DataFrame({"run_id": "r1", "model": ["gru4rec", "logreg_counts"], "variant": "with_funnel",
                          "split": "test", "auc": [0.99, float("nan")]})
    tables["model_metrics"] = pd.concat([tables["model_metrics"], leaky], ignore_index=True)
    lines = summary_text(tables).splitlines()
    table = lines[lines.index("Test AUC (with_funnel sees funnel events: the leakage comparison, never promoted)"):]
    with_funnel = next(line for line in table if line.strip().startswith("with_funnel")).split()
    assert with_funnel == ["with_funnel", "0.99", "NaN", "-"]  # gru4rec, logreg_counts (one class), lstm (untrained)
    assert any(line.startswith("  (NaN: AUC undefined") for line in table)
    assert any(line.startswith("  (-: not trained on that variant") for line in table)
    honest_only = summary_text(_tables())
    assert "(-: not trained" not in honest_only and "(NaN: AUC undefined" not in honest_only
