"""ml.evaluation.truth: the truth scorecard on hand-made tables whose scores are known."""

import numpy as np
import pandas as pd
import pytest

from ml.evaluation import SCORECARD_COLUMNS, best_of_scorecard, spearman, true_bucket_weights, truth_scorecard

TRUE = {"a": 0.10, "b": 0.05, "c": 0.02, "d": -0.01}


@pytest.fixture
def truth():
    rows = [(f"remove_event:{e}", v) for e, v in TRUE.items()]
    rows += [("remove_ad_events", 0.04), ("ad_experiment_exposed", 0.03)]
    return pd.DataFrame(rows, columns=["intervention", "true_effect"])


@pytest.fixture
def position_weights():
    # w = 1 on positions 1-5, 0.5 on 6-10, 0.2 on 51-60: bucket means 1, 0.5 and 0.2.
    weights = np.r_[np.ones(5), np.full(5, 0.5), np.full(40, 0.3), np.full(10, 0.2)]
    return pd.DataFrame({"position": np.arange(1, 61), "weight": weights})


def event_rows(method, lifts, signed=None):
    return pd.DataFrame(
        {"model": "lstm", "variant": "no_funnel", "method": method, "event": list(TRUE), "lift": lifts, "n_events": 5,
         "mean_signed_score": np.nan if signed is None else signed}
    )


def scores(table):
    return table.set_index(["model", "method", "metric"])["value"]


def test_spearman_known_values():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # rho = 1 - 6 sum d^2 / (n (n^2 - 1)) with d = (0, 0, 1, -1): 1 - 12 / 60 = 0.8
    assert spearman([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(0.8)
    assert np.isnan(spearman([1, 2], [1, 2]))  # too few points
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))  # constant


def test_lift_and_counterfactual_rankings(truth):
    """Lifts in the true order score 1, reversed -1; an event without a lift drops out (3 left, still 1)."""
    events = pd.concat(
        [
            # lifts in the true order; signed means that put a last
            event_rows("grad_x_input", [4.0, 3.0, 2.0, 1.0], signed=[-0.1, 0.3, 0.2, 0.1]),
            event_rows("attention", [1.0, 2.0, 3.0, 4.0]),
            event_rows("markov_removal", [4.0, np.nan, 2.0, 1.0]),
        ]
    )
    effects = pd.DataFrame(
        {
            "model": "lstm",
            "variant": "no_funnel",
            "intervention": [f"remove_event:{e}" for e in TRUE] + ["remove_ad_events"],
            "effect": [0.2, 0.1, 0.03, 0.0, 0.05],
        }
    )
    table = truth_scorecard(events, effects, None, truth)
    assert list(table.columns) == [*SCORECARD_COLUMNS, "assumption"]
    # Every number says what it rests on: an attribution share is an association, a counterfactual re-reads intent.
    assumptions = table.set_index("method")["assumption"]
    assert "not an effect" in assumptions["grad_x_input"].iloc[0]
    assert "re-reads intent" in assumptions["counterfactual"].iloc[0]
    got = scores(table)
    assert got["lstm", "grad_x_input", "spearman_lift_vs_truth"] == pytest.approx(1.0)
    assert got["lstm", "attention", "spearman_lift_vs_truth"] == pytest.approx(-1.0)
    assert got["lstm", "markov_removal", "spearman_lift_vs_truth"] == pytest.approx(1.0)
    # signed ranks (1, 4, 3, 2) against the true (4, 3, 2, 1): d = (-3, 1, 1, 1), rho = 1 - 6 * 12 / 60 = -0.2
    assert got["lstm", "grad_x_input", "spearman_signed_score_vs_truth"] == pytest.approx(-0.2)
    # Methods without signed scores (a channel baseline here) get no signed metric.
    assert ("lstm", "markov_removal", "spearman_signed_score_vs_truth") not in got.index
    # No method column on counterfactual rows: they are scored as method "counterfactual".
    assert got["lstm", "counterfactual", "spearman_counterfactual_vs_truth"] == pytest.approx(1.0)
    # |0.05 - 0.04| / 0.04
    assert got["lstm", "counterfactual", "ad_effect_relative_error"] == pytest.approx(0.25)


def test_experiment_rows_are_scored_against_their_own_truth(truth):
    effects = pd.DataFrame(
        {"model": ["experiment"], "variant": ["holdout"], "method": ["randomized_holdout"],
         "intervention": ["ad_experiment_exposed"], "effect": [0.027]}
    )
    table = truth_scorecard(None, effects, None, truth)
    # |0.027 - 0.03| / 0.03
    assert scores(table)["experiment", "randomized_holdout", "ad_effect_relative_error"] == pytest.approx(0.1)


def test_position_weight_error(truth, position_weights):
    """True bucket means: 1-5 -> 1, 6-10 -> 0.5, 51+ -> 0.2 (positions 51..60).

    Over buckets {1-5, 6-10}: true profile (2/3, 1/3). An estimate (0.2, 0.1) has the
    same shape: error 0. An estimate (0.1, 0.2) has profile (1/3, 2/3):
    error = 1/2 (1/3 + 1/3) = 1/3.
    """
    assert true_bucket_weights(position_weights, ["1-5", "6-10", "51+"]).to_dict() == pytest.approx(
        {"1-5": 1.0, "6-10": 0.5, "51+": 0.2}
    )
    positions = pd.DataFrame(
        {
            "model": "transformer_cls",
            "variant": "no_funnel",
            "method": ["grad_x_input"] * 2 + ["attention"] * 2,
            "position_bucket": ["1-5", "6-10"] * 2,
            "mean_converted": [0.2, 0.1, 0.1, 0.2],
        }
    )
    got = scores(truth_scorecard(None, None, positions, truth, position_weights))
    assert got["transformer_cls", "grad_x_input", "position_weight_error"] == pytest.approx(0.0)
    assert got["transformer_cls", "attention", "position_weight_error"] == pytest.approx(1 / 3)
    # Without the true weights the position metric is skipped.
    assert truth_scorecard(None, None, positions, truth).empty


def test_best_of_scorecard():
    scorecard = pd.DataFrame(
        [
            ("lstm", "no_funnel", "attention", "spearman_lift_vs_truth", 0.4),
            ("lstm", "no_funnel", "grad_x_input", "spearman_lift_vs_truth", 0.9),
            ("lstm", "no_funnel", "shapley", "spearman_lift_vs_truth", np.nan),
            ("lstm", "no_funnel", "counterfactual", "ad_effect_relative_error", 0.5),
            ("experiment", "holdout", "randomized_holdout", "ad_effect_relative_error", 0.1),
            ("lstm", "no_funnel", "attention", "position_weight_error", 0.3),
            ("lstm", "no_funnel", "linear", "position_weight_error", 0.2),
        ],
        columns=SCORECARD_COLUMNS,
    )
    best = best_of_scorecard(scorecard).set_index("metric")
    assert list(best.index) == ["spearman_lift_vs_truth", "position_weight_error", "ad_effect_relative_error"]
    assert best.loc["spearman_lift_vs_truth", "method"] == "grad_x_input"
    assert best.loc["position_weight_error", "method"] == "linear"
    assert best.loc["ad_effect_relative_error", "model"] == "experiment"


# -- honest ad effects: the randomized holdout and calibration (ml.counterfactual.experiment) --

from ml.counterfactual import EXPERIMENT_COLUMNS, calibrate_ad_effects, experiment_effect  # noqa: E402

TRUE_AD_EFFECT = 0.05


def planted_experiment(n_users=20000, seed=0):
    """Users randomized 80/20; ads target high intent, and intent drives conversion (confounding).

    Per journey: exposed with P = 0.2 + 0.5 [z > 0] in both arms (ghost exposure in the holdout),
    P(convert) = 0.1 + 0.2 [z > 0] + 0.05 [treatment and exposed]. The true effect on exposed
    treatment journeys is exactly 0.05; the naive exposed-vs-unexposed gap is much larger.
    """
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n_users), 2)
    high_intent = np.repeat(rng.normal(size=n_users), 2) > 0
    treatment = np.repeat(rng.random(n_users) < 0.8, 2)
    exposed = rng.random(len(users)) < 0.2 + 0.5 * high_intent
    converted = rng.random(len(users)) < 0.1 + 0.2 * high_intent + TRUE_AD_EFFECT * (treatment & exposed)
    return pd.DataFrame(
        {
            "journey_id": [f"j{i}" for i in range(len(users))],
            "user_id": [f"u{u}" for u in users],
            "arm": np.where(treatment, "treatment", "holdout"),
            "is_exposed": exposed,
            "converted": converted,
        }
    )


def test_experiment_recovers_the_planted_ad_effect():
    journeys = planted_experiment()
    row = experiment_effect(journeys, n_boot=400, seed=0)
    assert list(row.columns) == EXPERIMENT_COLUMNS
    row = row.iloc[0]
    assert row["intervention"] == "ad_experiment_exposed"
    assert row["effect"] == pytest.approx(TRUE_AD_EFFECT, abs=0.02)
    assert row["ci_low"] < TRUE_AD_EFFECT < row["ci_high"]
    # Binomial standard error of the difference of the two rates.
    se = np.sqrt(row["p_factual"] * (1 - row["p_factual"]) / row["n_journeys"]
                 + row["p_counterfactual"] * (1 - row["p_counterfactual"]) / row["n_holdout_journeys"])
    assert row["ci_high"] - row["ci_low"] == pytest.approx(2 * 1.96 * se, rel=0.25)
    # What targeting does to a naive comparison inside the treatment arm.
    treated = journeys[journeys["arm"] == "treatment"]
    naive = treated.groupby("is_exposed")["converted"].mean()
    assert naive[True] - naive[False] > 2 * row["effect"]


def test_experiment_bootstraps_users_not_journeys():
    """Copying every journey of a user 3 times adds no information: same estimate, same interval."""
    journeys = planted_experiment(n_users=3000, seed=1)
    copies = pd.concat([journeys.assign(journey_id=journeys["journey_id"] + f"_{k}") for k in range(3)])
    once = experiment_effect(journeys, n_boot=200, seed=3).iloc[0]
    thrice = experiment_effect(copies, n_boot=200, seed=3).iloc[0]
    for column in ("effect", "ci_low", "ci_high"):
        assert thrice[column] == pytest.approx(once[column])
    assert thrice["n_journeys"] == 3 * once["n_journeys"]


def test_calibrate_ad_effects():
    """Model effects 0.02 (100 journeys) and 0.08 (50): weighted mean m = (2 + 4) / 150 = 0.04.

    Experiment 0.03 in [0.02, 0.04]: factor 0.75, calibrated 0.015 and 0.06 (weighted mean 0.03);
    intervals m_e * [0.02, 0.04] / 0.04 = m_e * [0.5, 1].
    """
    model = pd.DataFrame(
        {"intervention": ["swap_ad_events:m_card_view", "swap_ad_events:m_card_click"],
         "n_journeys": [100, 50], "effect": [0.02, 0.08]}
    )
    experiment = pd.DataFrame([{"effect": 0.03, "ci_low": 0.02, "ci_high": 0.04}])
    out = calibrate_ad_effects(model, experiment)
    assert out["calibration_factor"].tolist() == pytest.approx([0.75, 0.75])
    assert out["calibrated_effect"].tolist() == pytest.approx([0.015, 0.06])
    assert np.average(out["calibrated_effect"], weights=out["n_journeys"]) == pytest.approx(0.03)
    assert out["calibrated_ci_low"].tolist() == pytest.approx([0.01, 0.04])
    assert out["calibrated_ci_high"].tolist() == pytest.approx([0.02, 0.08])
    assert calibrate_ad_effects(model, 0.06)["calibrated_effect"].tolist() == pytest.approx([0.03, 0.12])
    assert calibrate_ad_effects(model.assign(effect=0.0), 0.03)["calibrated_effect"].isna().all()


def test_sponsorship_effects_swap_the_ads_for_organic_events():
    """logit = 0.7 * #sponsored - 1: swapping every ad of a journey with s ads changes p by
    sigmoid(0.7 s - 1) - sigmoid(-1); nothing is removed, so other events keep their positions."""
    import torch
    from torch import nn

    from ml.counterfactual import SWAP_AD_EVENTS, sponsorship_effects
    from ml.data import build_sequence_data, planted_signal_frames
    from ml.models import SequenceModel

    torch.set_num_threads(1)

    class SponsoredCountModel(SequenceModel):
        def __init__(self, spec):
            super().__init__(spec, embedding_dim=1)
            self.head = nn.Linear(1, 1)
            with torch.no_grad():
                self.head.weight.fill_(0.7)
                self.head.bias.fill_(-1.0)

        def encode(self, x, mask):
            return (x[..., -1:] * mask.unsqueeze(-1)).sum(dim=1)  # is_sponsored is the last numeric

    sequences, labels = planted_signal_frames(n_journeys=200, seed=3)
    data = build_sequence_data(sequences, labels)
    table = sponsorship_effects(SponsoredCountModel(data.spec).eval(), data, sequences, n_boot=50).set_index("intervention")
    test_ids = labels.loc[labels["split"] == "test", "journey_id"]
    ads = sequences[sequences["journey_id"].isin(test_ids)].groupby("journey_id")["is_sponsored"].sum()
    ads = ads[ads > 0].to_numpy()
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    expected = (sigmoid(0.7 * ads - 1) - sigmoid(-1.0)).mean()
    # Only card views are sponsored in the planted frames: the per-event row equals the overall one.
    assert list(table.index) == [SWAP_AD_EVENTS, f"{SWAP_AD_EVENTS}:m_card_view"]
    for row in table.itertuples():
        assert row.n_journeys == len(ads)
        assert row.effect == pytest.approx(expected, abs=1e-5)
        assert row.ci_low <= row.effect <= row.ci_high
