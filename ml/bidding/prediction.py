r"""The predicted values bidders act on: pCVR and uplift of a journey from what can be observed.

A bidder does not see intent. It sees the journey so far (its ad-event counts) and the product.
``ConversionPredictor`` is a logistic model fit on logged ad-funnel journeys (those of
``simulate_ad_funnel``: observational, so intent, which drives both touches and purchases,
confounds it and its uplift runs high, as a model-based ad effect does):

    logit p_hat(c, k) = a + w . log(1 + c) + u_k,

the structural model's form less the latent intent. The predicted uplift of winning an
opportunity of placement p is p_hat(c + e_imp(p) + r_p e_click(p), k) - p_hat(c, k), with r_p the
logged click-through rate of the placement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from ml.bidding.environment import N_EVENTS
from ml.simulate.ad_funnel import EVENTS, AdFunnelConfig, simulate_ad_funnel


@dataclass(frozen=True)
class ConversionPredictor:
    intercept: float
    weights: np.ndarray  # (6,) on log(1 + counts)
    product_effect: np.ndarray  # (n_products,)
    click_rate: np.ndarray  # (3,) logged clicks per impression by placement

    def probability(self, counts: np.ndarray, product: np.ndarray) -> np.ndarray:
        logit = self.intercept + np.log1p(counts) @ self.weights + self.product_effect[product]
        return 1.0 / (1.0 + np.exp(-logit))

    def uplift(self, counts: np.ndarray, product: np.ndarray, placement: np.ndarray) -> np.ndarray:
        delta = np.zeros((len(placement), N_EVENTS))
        rows = np.arange(len(placement))
        delta[rows, 2 * placement] = 1.0
        delta[rows, 2 * placement + 1] = self.click_rate[placement]
        return self.probability(counts + delta, product) - self.probability(counts, product)


def fit_predictor(journeys: pd.DataFrame, n_products: int) -> ConversionPredictor:
    """Fit on logged journeys (one row each: product_id ``p0042``, the six event counts, converted)."""
    counts = journeys[list(EVENTS)].to_numpy(dtype=float)
    product = journeys["product_id"].str[1:].astype(int).to_numpy()
    features = np.hstack([np.log1p(counts), np.eye(n_products)[product]])
    model = LogisticRegression(C=1.0, max_iter=2000).fit(features, journeys["converted"].to_numpy(dtype=int))
    impressions = counts[:, 0::2].sum(axis=0)
    clicks = counts[:, 1::2].sum(axis=0)
    return ConversionPredictor(
        intercept=float(model.intercept_[0]),
        weights=model.coef_[0, :N_EVENTS].copy(),
        product_effect=model.coef_[0, N_EVENTS:].copy(),
        click_rate=clicks / np.maximum(impressions, 1.0),
    )


def logged_predictor(config: AdFunnelConfig, n_users: int = 4000) -> ConversionPredictor:
    """The predictor fit on a simulated ad-funnel log of ``n_users`` users with these structural parameters."""
    sim = simulate_ad_funnel(replace(config, n_users=n_users))
    return fit_predictor(sim.journeys, config.n_products)
