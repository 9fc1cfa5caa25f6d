r"""The truth scorecard: attribution and counterfactual estimates scored against the simulator's truth.

Inputs are the output tables (with model, variant and, where it applies,
method columns) and the simulator's ``truth`` (intervention, true_effect) and
``position_weights`` (position, weight). One row per (model, variant, method,
metric):

spearman_lift_vs_truth
    Spearman rank correlation, over the events present in both, of each
    event's ``lift`` (event_type_attribution) with the true effect of
    ``remove_event:<event>``. 1 = the method ranks events exactly as their
    true removal effects do; -1 = reversed.
spearman_signed_score_vs_truth
    the same for each event's ``mean_signed_score`` (event_type_attribution of
    methods with signed scores): the signed share says which way the event
    moves the prediction, which the unsigned lift cannot.
spearman_counterfactual_vs_truth
    the same for the estimated ``remove_event:<event>`` effects
    (counterfactual_effects; method ``counterfactual`` when the frame has no
    method column).
kendall_counterfactual_vs_truth
    Kendall's tau-b of the same pairs (the share of concordant minus discordant event pairs:
    less swayed than Spearman by one far-off event).
effect_error_share
    mean over the ``remove_event:<event>`` rows of |estimate - truth|, divided by the mean of
    |truth| over the same events: 0 = right in size, 1 = off by as much as a typical effect.
sign_accuracy
    share of those events whose estimate has the truth's sign.
    These four read only ``remove_event`` rows, never ``remove_ad_events``: an ad estimate taken
    from the experiment must not inflate a model's score.
position_weight_error
    total variation distance between two profiles over the position buckets
    present in both:

        est_b  = m_b / sum_c m_c,   m_b = the bucket's ``mean_converted`` (mean score of
                                        its events in converted journeys)
        true_b = w_b / sum_c w_c,   w_b = mean of the true weights w(position) over the
                                        bucket's positions ("1-5" -> 1..5, "51+" -> 51..max)
        error  = 1/2 sum_b |est_b - true_b|

    in [0, 1]: 0 = the estimated profile has the true shape, 1 = disjoint.
ad_effect_relative_error
    |estimated - true| / |true| for the ad interventions, each against the
    truth of the same name: ``remove_ad_events`` (the model-based
    counterfactual) and ``ad_experiment_exposed`` (the randomized holdout's
    estimate, ``ml.counterfactual.experiment_effect``, when passed among the
    counterfactual rows).

A metric with fewer than ``min_points`` pairs (Spearman) or no common bucket
is NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.estimands import (
    AD_INTERVENTIONS,
    COUNTERFACTUAL_METHOD,
    EXPERIMENT_METHOD,
    EXPERIMENT_MODEL,
    REMOVE_EVENT_PREFIX,
    REPREDICT_ESTIMATOR,
    assumption_of,
)

SCORECARD_COLUMNS = ["model", "variant", "method", "metric", "value"]
#: metric -> which end is best
METRIC_DIRECTIONS: dict[str, str] = {
    "spearman_lift_vs_truth": "max",
    "spearman_signed_score_vs_truth": "max",
    "spearman_counterfactual_vs_truth": "max",
    "kendall_counterfactual_vs_truth": "max",
    "effect_error_share": "min",
    "sign_accuracy": "max",
    "position_weight_error": "min",
    "ad_effect_relative_error": "min",
}
_GROUP = ["model", "variant", "method"]


def spearman(a, b, min_points: int = 3) -> float:
    """Spearman's rho: Pearson correlation of average ranks; NaN under ``min_points`` or when constant."""
    a = pd.Series(np.asarray(a, dtype=np.float64))
    b = pd.Series(np.asarray(b, dtype=np.float64))
    keep = a.notna() & b.notna()
    if keep.sum() < min_points:
        return float("nan")
    ra, rb = a[keep].rank().to_numpy(), b[keep].rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def kendall(a, b, min_points: int = 3) -> float:
    """Kendall's tau-b; NaN under ``min_points`` pairs or when either side is constant."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < min_points or np.ptp(a[keep]) == 0 or np.ptp(b[keep]) == 0:
        return float("nan")
    from scipy.stats import kendalltau

    return float(kendalltau(a[keep], b[keep]).statistic)


def effect_error_share(estimates, truth) -> float:
    """mean |estimate - truth| / mean |truth| over the pairs present in both (NaN when none)."""
    estimates, truth = np.asarray(estimates, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    keep = np.isfinite(estimates) & np.isfinite(truth)
    scale = np.abs(truth[keep]).mean() if keep.any() else 0.0
    return float(np.abs(estimates[keep] - truth[keep]).mean() / scale) if scale > 0 else float("nan")


def sign_accuracy(estimates, truth) -> float:
    """Share of the pairs present in both whose estimate has the truth's sign."""
    estimates, truth = np.asarray(estimates, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    keep = np.isfinite(estimates) & np.isfinite(truth)
    return float(np.mean(np.sign(estimates[keep]) == np.sign(truth[keep]))) if keep.any() else float("nan")


def true_event_effects(truth: pd.DataFrame) -> pd.Series:
    """event -> true effect of ``remove_event:<event>``."""
    rows = truth[truth["intervention"].astype(str).str.startswith(REMOVE_EVENT_PREFIX)]
    return pd.Series(
        rows["true_effect"].to_numpy(dtype=np.float64),
        index=rows["intervention"].astype(str).str[len(REMOVE_EVENT_PREFIX) :].to_numpy(),
    )


def bucket_positions(bucket: str, max_position: int) -> np.ndarray:
    """Positions of a bucket label: ``"6-10"`` -> 6..10, ``"51+"`` -> 51..max_position."""
    bucket = str(bucket)
    if bucket.endswith("+"):
        return np.arange(int(bucket[:-1]), max_position + 1)
    low, high = bucket.split("-")
    return np.arange(int(low), int(high) + 1)


def true_bucket_weights(position_weights: pd.DataFrame, buckets) -> pd.Series:
    """bucket -> mean true weight w(position) over its positions (NaN when none is known)."""
    weights = position_weights.set_index("position")["weight"].astype(np.float64)
    max_position = int(weights.index.max())
    return pd.Series(
        {b: weights.reindex(bucket_positions(b, max_position)).mean() for b in buckets}, dtype=np.float64
    )


def position_weight_error(estimates: pd.Series, truth: pd.Series) -> float:
    """1/2 sum_b |est_b - true_b| of the two profiles, each normalized over their common buckets."""
    common = estimates.dropna().index.intersection(truth.dropna().index)
    est, true = estimates[common].clip(lower=0), truth[common]
    if len(common) == 0 or est.sum() <= 0 or true.sum() <= 0:
        return float("nan")
    return float(0.5 * np.abs(est / est.sum() - true / true.sum()).sum())


def _with_keys(frame: pd.DataFrame, default_method: str | None = None) -> pd.DataFrame:
    frame = frame.copy()
    for column in ("model", "variant"):
        if column not in frame.columns:
            frame[column] = ""
    if "method" not in frame.columns:
        frame["method"] = default_method or ""
    return frame


def _rows(frame: pd.DataFrame, metric: str, score) -> list[tuple]:
    return [(*keys, metric, score(group)) for keys, group in frame.groupby(_GROUP, sort=True, dropna=False)]


def truth_scorecard(
    event_type_attr: pd.DataFrame | None,
    counterfactual_effects: pd.DataFrame | None,
    position_attr: pd.DataFrame | None,
    truth: pd.DataFrame,
    position_weights: pd.DataFrame | None = None,
    position_column: str = "mean_converted",
    min_points: int = 3,
) -> pd.DataFrame:
    """The ``truth_scorecard`` table: model, variant, method, metric, value, and the assumption the
    method's numbers rest on (``ml.estimands.assumption_of``; see the module docstring).

    Any input left out (None or empty) skips its metrics; position metrics
    need ``position_weights`` too.
    """
    events_truth = true_event_effects(truth)
    rows: list[tuple] = []

    if event_type_attr is not None and len(event_type_attr):
        frame = _with_keys(event_type_attr)
        rows += _rows(
            frame,
            "spearman_lift_vs_truth",
            lambda g: spearman(g["lift"], events_truth.reindex(g["event"]).to_numpy(), min_points),
        )
        if "mean_signed_score" in frame.columns:
            signed = frame[frame.groupby(_GROUP, dropna=False)["mean_signed_score"].transform("count") > 0]
            rows += _rows(
                signed,
                "spearman_signed_score_vs_truth",
                lambda g: spearman(g["mean_signed_score"], events_truth.reindex(g["event"]).to_numpy(), min_points),
            )

    if counterfactual_effects is not None and len(counterfactual_effects):
        frame = _with_keys(counterfactual_effects, COUNTERFACTUAL_METHOD)
        intervention = frame["intervention"].astype(str)
        removals = frame[intervention.str.startswith(REMOVE_EVENT_PREFIX)]
        def truth_of(g: pd.DataFrame) -> np.ndarray:
            return events_truth.reindex(g["intervention"].astype(str).str[len(REMOVE_EVENT_PREFIX) :]).to_numpy()

        rows += _rows(removals, "spearman_counterfactual_vs_truth", lambda g: spearman(g["effect"], truth_of(g), min_points))
        rows += _rows(removals, "kendall_counterfactual_vs_truth", lambda g: kendall(g["effect"], truth_of(g), min_points))
        rows += _rows(removals, "effect_error_share", lambda g: effect_error_share(g["effect"], truth_of(g)))
        rows += _rows(removals, "sign_accuracy", lambda g: sign_accuracy(g["effect"], truth_of(g)))
        true_by_intervention = truth.set_index(truth["intervention"].astype(str))["true_effect"].astype(np.float64)
        for row in frame[intervention.isin(AD_INTERVENTIONS)].itertuples(index=False):
            true = true_by_intervention.get(str(row.intervention), np.nan)
            error = abs(row.effect - true) / abs(true) if np.isfinite(true) and true != 0 else np.nan
            rows.append((row.model, row.variant, row.method, "ad_effect_relative_error", float(error)))

    if position_attr is not None and len(position_attr) and position_weights is not None and len(position_weights):
        frame = _with_keys(position_attr)
        true_weights = true_bucket_weights(position_weights, pd.unique(frame["position_bucket"].astype(str)))
        rows += _rows(
            frame,
            "position_weight_error",
            lambda g: position_weight_error(
                g.set_index(g["position_bucket"].astype(str))[position_column].astype(np.float64), true_weights
            ),
        )

    scorecard = pd.DataFrame(rows, columns=SCORECARD_COLUMNS)
    return scorecard.assign(assumption=scorecard["method"].map(assumption_of))


def best_of_scorecard(scorecard: pd.DataFrame) -> pd.DataFrame:
    """The best row of each metric (highest Spearman, lowest error), NaN values ignored.

    Columns as the scorecard; metrics in METRIC_DIRECTIONS order, then any other (best = max).
    """
    rows = []
    known = [m for m in METRIC_DIRECTIONS if m in set(scorecard["metric"])]
    others = sorted(set(scorecard["metric"]) - set(METRIC_DIRECTIONS))
    for metric in known + others:
        scored = scorecard[(scorecard["metric"] == metric) & scorecard["value"].notna()]
        if scored.empty:
            continue
        best = scored["value"].idxmin() if METRIC_DIRECTIONS.get(metric) == "min" else scored["value"].idxmax()
        rows.append(scorecard.loc[best, SCORECARD_COLUMNS])
    return pd.DataFrame(rows, columns=SCORECARD_COLUMNS).reset_index(drop=True)


def scored_effects(counterfactual_effects: pd.DataFrame, ad_effects: pd.DataFrame | None = None,
                   grounded_effects: pd.DataFrame | None = None) -> pd.DataFrame:
    """The effect rows the scorecard reads, each with its ``method``: model-based rows by their
    ``estimator`` (remove-and-re-predict as ``counterfactual``, ``abduction``, and
    ``abduction_grounded`` from the intent grounding's rows), the randomized holdout's rows of the
    ad_effects table as ``randomized_holdout``; a (model, variant, method, intervention) present
    twice counts once."""
    effects = pd.concat([counterfactual_effects, ad_effects, grounded_effects], ignore_index=True)
    estimator = effects["estimator"] if "estimator" in effects.columns else pd.Series(np.nan, index=effects.index)
    method = estimator.replace({REPREDICT_ESTIMATOR: COUNTERFACTUAL_METHOD}).fillna(COUNTERFACTUAL_METHOD)
    effects["method"] = np.where(effects["model"] == EXPERIMENT_MODEL, EXPERIMENT_METHOD, method)
    return effects.drop_duplicates(["model", "variant", "method", "intervention"])
