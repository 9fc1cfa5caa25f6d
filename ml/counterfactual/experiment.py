r"""Honest ad effects: the randomized ad holdout, and calibrating model-based ad effects to it.

The experiment (``fct_ad_experiment_journeys``): users are randomized to
``treatment`` (ads shown) or ``holdout`` (no ads; the organic card shown in a
slot where an ad would have been is a *ghost ad*). A journey is exposed when
it holds a sponsored event (treatment) or a ghost ad (holdout). Because the
arms are randomized and ghost slots are the would-be ad slots, exposed
treatment journeys and ghost-exposed holdout journeys are comparable, and

    effect = P(converted | treatment, exposed) - P(converted | holdout, ghost-exposed)

estimates, without the targeting bias of a model-based counterfactual, the
effect of showing the ads in those slots on the exposed journeys (the
simulator's ``ad_experiment_exposed`` truth: the sponsored card against the
organic card in the same slot).

Model-based effects read the same question from a trained model by swapping
(not removing) the ads: :func:`sponsorship_effects` sets ``is_sponsored``
false on the ad events and re-predicts; :func:`calibrate_ad_effects` rescales
per-event model effects so their level matches the experiment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.counterfactual.effects import COUNTERFACTUAL_COLUMNS, effect_row
from ml.counterfactual.interventions import intervention_mask, swap_interventions
from ml.counterfactual.repredict import predict_edited
from ml.data import SequenceData
from ml.estimands import AD_EXPERIMENT_EXPOSED, EXPERIMENT_MODEL, SWAP_AD_EVENT_PREFIX, SWAP_AD_EVENTS
from ml.evaluation.metrics import predict_proba
from ml.models import SequenceModel

TREATMENT, HOLDOUT = "treatment", "holdout"
EXPERIMENT_COLUMNS = [*COUNTERFACTUAL_COLUMNS, "n_holdout_journeys"]


def _flag(column: pd.Series) -> np.ndarray:
    return column.astype(object).fillna(False).astype(bool).to_numpy()


def _arm_users(journeys: pd.DataFrame, arm: str) -> tuple[np.ndarray, np.ndarray]:
    """Per user of ``arm``: (exposed journeys, converted exposed journeys)."""
    rows = journeys[journeys["arm"].astype(str) == arm]
    exposed = _flag(rows["is_exposed"])
    converted = _flag(rows["converted"]) & exposed
    grouped = pd.DataFrame({"user_id": rows["user_id"].to_numpy(), "n": exposed, "c": converted}).groupby("user_id")
    sums = grouped[["n", "c"]].sum()
    return sums["n"].to_numpy(dtype=np.float64), sums["c"].to_numpy(dtype=np.float64)


def _bootstrap_rates(n: np.ndarray, c: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Conversion rate sum(c) / sum(n) over ``n_boot`` resamples of the users (with replacement)."""
    rates = np.empty(n_boot)
    if len(n) == 0:
        return np.full(n_boot, np.nan)
    chunk = max(1, 2_000_000 // len(n))
    for start in range(0, n_boot, chunk):
        stop = min(start + chunk, n_boot)
        pick = rng.integers(0, len(n), size=(stop - start, len(n)))
        exposed = n[pick].sum(axis=1)
        rates[start:stop] = np.divide(c[pick].sum(axis=1), exposed, out=np.full(stop - start, np.nan), where=exposed > 0)
    return rates


def experiment_effect(
    journeys: pd.DataFrame,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    split: str | None = None,
) -> pd.DataFrame:
    """The ad effect measured by the randomized holdout, with a bootstrap-by-user interval.

    ``journeys``: journey_id, user_id, arm (``treatment`` / ``holdout``),
    is_exposed, converted (nulls = false), and split when ``split`` filters.

        p_t = sum_u c_u / sum_u n_u over treatment users,  p_h the same over holdout users,
        effect = p_t - p_h,

    with n_u the user's exposed journeys and c_u the converted ones. The
    interval resamples *users* with replacement within each arm (journeys of
    a user are correlated; the arms are randomized by user) ``n_boot`` times
    and takes the percentile interval of p_t* - p_h*.

    One row, columns EXPERIMENT_COLUMNS: intervention (``ad_experiment_exposed``),
    n_journeys (exposed treatment journeys), p_factual (p_t), p_counterfactual
    (p_h), effect, ci_low, ci_high, n_holdout_journeys (ghost-exposed
    holdout journeys). The columns of counterfactual_effects, so the row can
    sit next to the model-based ones (e.g. with model ``experiment``).
    """
    if split is not None:
        journeys = journeys[journeys["split"].astype(str) == split]
    n_t, c_t = _arm_users(journeys, TREATMENT)
    n_h, c_h = _arm_users(journeys, HOLDOUT)
    p_t = c_t.sum() / n_t.sum() if n_t.sum() > 0 else np.nan
    p_h = c_h.sum() / n_h.sum() if n_h.sum() > 0 else np.nan
    rng = np.random.default_rng(seed)
    diffs = _bootstrap_rates(n_t, c_t, n_boot, rng) - _bootstrap_rates(n_h, c_h, n_boot, rng)
    tail = (1 - level) / 2 * 100
    if np.isfinite(diffs).any():
        low, high = np.nanpercentile(diffs, [tail, 100 - tail])
    else:
        low = high = np.nan
    row = {
        "intervention": AD_EXPERIMENT_EXPOSED,
        "n_journeys": int(n_t.sum()),
        "p_factual": float(p_t),
        "p_counterfactual": float(p_h),
        "effect": float(p_t - p_h),
        "ci_low": float(low),
        "ci_high": float(high),
        "n_holdout_journeys": int(n_h.sum()),
    }
    return pd.DataFrame([row], columns=EXPERIMENT_COLUMNS)


def sponsorship_effects(
    model: SequenceModel,
    data: SequenceData,
    sequences: pd.DataFrame,
    split: str = "test",
    n_boot: int = 200,
    seed: int = 0,
    batch_size: int = 1024,
) -> pd.DataFrame:
    """Model-based ad effects in the experiment's estimand: swap the ads for organic events.

    For ``swap_ad_events`` (every sponsored event) and ``swap_ad_events:<event>``
    (the sponsored events named ``<event>``), over the ``split`` journeys J
    holding at least one such event:

        effect = (1/|J|) sum_{j in J} [p(j) - p(j with those events' is_sponsored = false)]

    nothing removed or re-ranked (the slot keeps its event and position), so
    ``swap_ad_events`` is the model's reading of ``ad_experiment_exposed``.
    Columns: COUNTERFACTUAL_COLUMNS, with a percentile bootstrap over journeys.
    """
    journeys = data.indices(split)
    p_factual = pd.Series(predict_proba(model, data, split, batch_size), index=data.journey_id[journeys])
    in_split = sequences[sequences["journey_id"].isin(p_factual.index)]
    swaps = [(intervention, intervention_mask(in_split, intervention)) for intervention in swap_interventions(in_split)]
    affected_of, edits = [], []
    for _, swap in swaps:
        affected = np.sort(pd.unique(in_split["journey_id"].to_numpy()[swap]).astype(object))
        affected_of.append(affected)
        if len(affected):
            touched = in_split["journey_id"].isin(affected).to_numpy()
            organic = in_split[touched].copy()
            organic["is_sponsored"] = np.where(swap[touched], False, _flag(organic["is_sponsored"]))
            edits.append((organic, affected))
    predicted = iter(predict_edited(model, data, edits, batch_size))  # every swap in one pass
    rows = [effect_row(intervention, p_factual.reindex(affected).to_numpy(), next(predicted) if len(affected) else None,
                       n_boot, seed + number)
            for number, ((intervention, _), affected) in enumerate(zip(swaps, affected_of))]
    return pd.DataFrame(rows, columns=COUNTERFACTUAL_COLUMNS)


def calibrate_ad_effects(model_effects: pd.DataFrame, experimental_effect, weight_column: str = "n_journeys") -> pd.DataFrame:
    r"""Rescale model-based per-event ad effects so their journey-weighted mean equals the experiment's.

    With per-event model effects m_e on n_e journeys and the experimental
    effect E (interval [E_lo, E_hi]):

        m_bar = sum_e n_e m_e / sum_e n_e,     c = E / m_bar,
        calibrated_e = c * m_e                 (so sum_e n_e calibrated_e / sum_e n_e = E),
        interval_e   = m_e * [E_lo, E_hi] / m_bar  (ordered).

    One factor for all ad events: the experiment fixes the *level* (free of
    targeting bias), the model only the *split* between events. The
    assumption is that the model's bias is proportional across ad events.
    The interval carries the experiment's uncertainty (which dominates), not
    the model's. Pass effects in the experiment's estimand (the
    ``swap_ad_events:<event>`` rows of :func:`sponsorship_effects`); removal
    effects (``remove_event``) measure the card *and* its sponsorship.

    ``model_effects``: rows with ``effect`` and ``weight_column``;
    ``experimental_effect``: a number, or the :func:`experiment_effect` frame
    / row (effect, ci_low, ci_high). Returns a copy with calibration_factor,
    calibrated_effect, calibrated_ci_low, calibrated_ci_high (NaN when
    m_bar = 0).
    """
    if isinstance(experimental_effect, pd.DataFrame):
        experimental_effect = experimental_effect.iloc[0]
    if isinstance(experimental_effect, (pd.Series, dict)):
        effect = float(experimental_effect["effect"])
        low = float(experimental_effect.get("ci_low", np.nan))
        high = float(experimental_effect.get("ci_high", np.nan))
    else:
        effect, low, high = float(experimental_effect), np.nan, np.nan
    out = model_effects.copy()
    weights = out[weight_column].to_numpy(dtype=np.float64)
    values = out["effect"].to_numpy(dtype=np.float64)
    usable = np.isfinite(values) & (weights > 0)
    mean = np.sum(weights[usable] * values[usable]) / weights[usable].sum() if usable.any() else np.nan
    factor = effect / mean if np.isfinite(mean) and mean != 0 else np.nan
    bounds = np.stack([values * low / mean, values * high / mean]) if np.isfinite(factor) else np.full((2, len(out)), np.nan)
    out["calibration_factor"] = factor
    out["calibrated_effect"] = values * factor
    out["calibrated_ci_low"] = bounds.min(axis=0)
    out["calibrated_ci_high"] = bounds.max(axis=0)
    return out


NO_EXPERIMENT_WARNING = (
    "no randomized ad holdout in the data: the model-based ad effect is confounded by targeting "
    "(ads go to high-intent users), read it as an upper bound"
)


def has_experiment(journeys: pd.DataFrame) -> bool:
    """Whether the experiment journeys can estimate an effect: a holdout arm and exposed journeys."""
    return bool(journeys["arm"].astype(str).eq(HOLDOUT).any() and _flag(journeys["is_exposed"]).any())


def ad_effects_table(
    journeys: pd.DataFrame, model_effects: pd.DataFrame, variant: str, n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """The honest ad effects: the randomized holdout's estimate as the row ``model = experiment``
    (:func:`experiment_effect`), each model's ``swap_ad_events`` estimate beside it, and its
    per-event swap effects calibrated so their journey-weighted mean equals the experiment's
    (:func:`calibrate_ad_effects`).

    ``journeys``: fct_ad_experiment_journeys; ``model_effects``: counterfactual_effects rows (model,
    variant, intervention, ...), of which the swaps of ``variant`` are read. Without an experiment
    (:func:`has_experiment`) the model-based rows alone, which targeting confounds.
    Columns: model, variant, intervention, then those of the rows.
    """
    swaps = model_effects[
        (model_effects["variant"] == variant) & model_effects["intervention"].str.startswith(SWAP_AD_EVENTS)
    ].drop(columns="run_id", errors="ignore")
    if has_experiment(journeys):
        experiment = experiment_effect(journeys, n_boot=n_boot, seed=seed)
        frames = [experiment.assign(model=EXPERIMENT_MODEL, variant=variant)]
        for _, rows in swaps.groupby("model"):
            per_event = rows[rows["intervention"].str.startswith(SWAP_AD_EVENT_PREFIX)]
            frames += [rows[rows["intervention"] == SWAP_AD_EVENTS], calibrate_ad_effects(per_event, experiment)]
    else:
        frames = [swaps]
    table = pd.concat(frames, ignore_index=True)
    keys = ["model", "variant", "intervention"]
    return table[keys + [c for c in table.columns if c not in keys]]
