r"""Seeded simulator of the ad-funnel domain (sponsored products), with a known structural model.

It writes the ad-funnel raw contract tables of design.md (``auctions_users``,
``impressions``, ``clicks``, ``purchases``) and the truth to score against
(``simulator_truth``), in the canonical event names the dbt staging gives them:
``impression:<placement>`` and ``click:<placement>``.

The structural model
--------------------
A journey is one user x product over the attribution window (design.md). Journey j of
user u about product k has a latent intent

    z_j = v_u + e_j,   v_u ~ N(0, user_intent_sd^2),   e_j ~ N(0, journey_intent_sd^2).

Targeting confounds: the number of ad touches grows with intent,
``n_j = 1 + Poisson(touch_base * exp(touch_intent_slope * z_j))`` (capped); each touch
is an impression in a placement drawn from ``PLACEMENTS``' shares, clicked with
probability ``sigmoid(click_base_logit + click_intent_slope * z_j + click_bias[placement])``.

Purchase. With c_e the journey's count of event e (6 events: impression and click in 3
placements),

    logit p_j = intercept + intent_effect * z_j + appeal_k + sum_e beta_e * log(1 + c_e),

diminishing returns per event; positions carry no weight of their own (the truth's
position weights are all 1). A purchase lands 5 minutes to 24 hours after the last
touch, inside the window, and closes the journey.

Journeys follow the rules dbt applies (stg_ad_funnel__events): a user's products are
distinct, and a share ``repeat_journey_share`` of pairs gets a second journey that
starts either 1-3 hours after the first journey's purchase (a purchase closes a
journey) or more than the window after its last touch (the window closes it).
Auctions a user took part in without an impression (lost auctions) and purchases
with no ad touch (organic) are in the raw tables too: the first are not events, the
second form journeys with nothing before the conversion.

Truth. For each intervention (``remove_ad_events``: every touch; ``remove_event:<e>``),
over the journeys holding at least one removed event, the mean of
p(journey) - p(journey without those events), both from the structural model with the
journey's own intent: the estimand of design.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.estimands import REMOVE_AD_EVENTS, REMOVE_EVENT_PREFIX

# placement, share of impressions, click bias (logit), beta of an impression, beta of a click
PLACEMENTS: tuple[tuple[str, float, float, float, float], ...] = (
    ("search_top", 0.35, 0.4, 0.30, 0.85),
    ("product_page", 0.40, 0.0, 0.15, 0.55),
    ("homepage", 0.25, -0.6, 0.02, 0.30),
)
IMPRESSION, CLICK = "impression", "click"


def event_name(kind: str, placement: str) -> str:
    """The canonical event name dbt gives an ad touch: ``impression:search_top``."""
    return f"{kind}:{placement}"


EVENTS: tuple[str, ...] = tuple(event_name(kind, p[0]) for p in PLACEMENTS for kind in (IMPRESSION, CLICK))
BETAS: np.ndarray = np.array([beta for p in PLACEMENTS for beta in (p[3], p[4])])


@dataclass(frozen=True)
class AdFunnelConfig:
    """Size, seed and structural parameters of the ad-funnel simulation."""

    n_users: int = 4000
    n_products: int = 60
    products_per_user: float = 2.0  # mean journeys (distinct products) per user, 1 + Poisson
    days: int = 28
    attribution_window_days: int = 7  # must equal dbt var attribution_window_days
    seed: int = 0
    user_intent_sd: float = 0.8
    journey_intent_sd: float = 0.6
    touch_base: float = 2.0
    touch_intent_slope: float = 0.45
    max_touches: int = 30
    click_base_logit: float = -1.6
    click_intent_slope: float = 0.5
    intercept: float = -3.0
    intent_effect: float = 0.8
    appeal_sd: float = 0.4
    repeat_journey_share: float = 0.15
    organic_purchase_share: float = 0.05  # organic purchases per user-product pair with ads
    lost_auction_share: float = 0.5  # lost auctions per impression


@dataclass
class AdFunnelSimulation:
    """The four raw tables, the truth and the journeys behind them."""

    auctions_users: pd.DataFrame
    impressions: pd.DataFrame
    clicks: pd.DataFrame
    purchases: pd.DataFrame
    truth: pd.DataFrame  # intervention, true_effect, n_journeys
    position_weights: pd.DataFrame  # position, weight (all 1: positions carry no effect here)
    journeys: pd.DataFrame  # one row per journey with touches: latents, counts, label


def purchase_probability(config: AdFunnelConfig, intent: np.ndarray, appeal: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """p = sigmoid(intercept + intent_effect * z + appeal + sum_e beta_e * log(1 + c_e)); counts: (n, len(EVENTS))."""
    logit = config.intercept + config.intent_effect * intent + appeal + np.log1p(counts) @ BETAS
    return 1.0 / (1.0 + np.exp(-logit))


def click_probability(config: AdFunnelConfig, intent: np.ndarray, placement: np.ndarray) -> np.ndarray:
    """sigmoid(click_base_logit + click_intent_slope * z + click_bias[placement]); placement indexes PLACEMENTS."""
    click_bias = np.array([p[2] for p in PLACEMENTS])
    return 1 / (1 + np.exp(-(config.click_base_logit + config.click_intent_slope * intent + click_bias[placement])))


def product_appeal(config: AdFunnelConfig, rng: np.random.Generator) -> np.ndarray:
    """Each product's appeal, N(0, appeal_sd^2): the simulation's first draw from its seeded generator."""
    return rng.normal(0.0, config.appeal_sd, config.n_products)


def true_effects(config: AdFunnelConfig, intent: np.ndarray, appeal: np.ndarray, counts: np.ndarray) -> pd.DataFrame:
    """``simulator_truth`` rows for remove_ad_events and every remove_event:<event>."""
    factual = purchase_probability(config, intent, appeal, counts)
    interventions = {REMOVE_AD_EVENTS: np.ones(len(EVENTS), dtype=bool)}
    interventions |= {f"{REMOVE_EVENT_PREFIX}{name}": np.arange(len(EVENTS)) == i for i, name in enumerate(EVENTS)}
    rows = []
    for name, removed in interventions.items():
        touched = (counts[:, removed] > 0).any(axis=1)
        kept = np.where(removed, 0, counts)
        effect = float(np.mean(factual[touched] - purchase_probability(config, intent, appeal, kept)[touched])) if touched.any() else float("nan")
        rows.append((name, effect, int(touched.sum())))
    return pd.DataFrame(rows, columns=["intervention", "true_effect", "n_journeys"])


def simulate_ad_funnel(config: AdFunnelConfig = AdFunnelConfig()) -> AdFunnelSimulation:
    """Draw the journeys, then write them out as the four raw ad-funnel tables."""
    rng = np.random.default_rng(config.seed)
    start = pd.Timestamp("2026-01-05")
    window = config.attribution_window_days * 86400.0
    appeal = product_appeal(config, rng)
    user_intent = rng.normal(0.0, config.user_intent_sd, config.n_users)
    shares = np.array([p[1] for p in PLACEMENTS])

    journeys, auctions, impressions, clicks, purchases = [], [], [], [], []
    for user in range(config.n_users):
        n_products = min(1 + rng.poisson(config.products_per_user - 1), config.n_products)
        products = rng.choice(config.n_products, size=n_products, replace=False)
        for product in products:
            begins = rng.uniform(0, config.days * 86400.0 - 2.5 * window)
            for repeat in range(1 + int(rng.random() < config.repeat_journey_share)):
                intent = user_intent[user] + rng.normal(0.0, config.journey_intent_sd)
                n_touches = min(1 + rng.poisson(config.touch_base * np.exp(config.touch_intent_slope * intent)), config.max_touches)
                times = np.sort(begins + rng.uniform(0, 0.8 * window, n_touches))
                placement = rng.choice(len(PLACEMENTS), size=n_touches, p=shares)
                p_click = click_probability(config, intent, placement)
                clicked = rng.random(n_touches) < p_click
                counts = np.zeros(len(EVENTS))
                np.add.at(counts, 2 * placement, 1)
                np.add.at(counts, 2 * placement[clicked] + 1, 1)
                p = purchase_probability(config, np.array([intent]), appeal[[product]], counts[None, :])[0]
                converted = rng.random() < p
                number = len(journeys)
                journeys.append((f"u{user:06d}", f"p{product:04d}", intent, appeal[product], p, converted, n_touches, *counts))
                for t in range(n_touches):
                    touch = f"{number:07d}-{t:03d}"
                    auctions.append((f"a{touch}", f"u{user:06d}", times[t] - 0.2, PLACEMENTS[placement[t]][0]))
                    impressions.append((f"i{touch}", f"a{touch}", f"u{user:06d}", f"p{product:04d}", times[t]))
                    if clicked[t]:
                        clicks.append((f"c{touch}", f"i{touch}", f"u{user:06d}", f"p{product:04d}", times[t] + rng.uniform(2, 60)))
                last = times[-1] + 60
                if converted:
                    bought = last + rng.uniform(300, 86400)
                    purchases.append((f"o{number:07d}", f"u{user:06d}", f"p{product:04d}", bought, round(float(rng.lognormal(3, 0.6)), 2)))
                    begins = bought + rng.uniform(3600, 3 * 3600)  # a purchase closes the journey
                else:
                    begins = last + window + rng.uniform(86400, 2 * 86400)  # the window closes it
        if rng.random() < config.organic_purchase_share * n_products:
            # A product the user saw no ad for, so the purchase joins no ad journey.
            organic = rng.choice(np.setdiff1d(np.arange(config.n_products), products))
            purchases.append((f"g{user:06d}", f"u{user:06d}", f"p{organic:04d}", rng.uniform(0, config.days * 86400.0), 20.0))

    n_lost = int(config.lost_auction_share * len(impressions))
    lost_users = rng.integers(config.n_users, size=n_lost)
    auctions += [
        (f"l{i:08d}", f"u{u:06d}", rng.uniform(0, config.days * 86400.0), PLACEMENTS[rng.integers(len(PLACEMENTS))][0])
        for i, u in enumerate(lost_users)
    ]

    def at(seconds) -> pd.Series:
        return start + pd.to_timedelta(np.round(np.asarray(seconds, dtype=float), 3), unit="s")

    def frame(rows, columns, ts):
        out = pd.DataFrame(rows, columns=columns)
        out[ts] = at(out[ts]).astype("datetime64[ms]")
        return out.sort_values(ts, kind="stable").reset_index(drop=True)

    journey_frame = pd.DataFrame(
        journeys, columns=["user_id", "product_id", "intent", "appeal", "p_purchase", "converted", "n_touches", *EVENTS]
    )
    counts = journey_frame[list(EVENTS)].to_numpy()
    truth = true_effects(config, journey_frame["intent"].to_numpy(), journey_frame["appeal"].to_numpy(), counts)
    return AdFunnelSimulation(
        auctions_users=frame(auctions, ["auction_id", "user_id", "auction_ts", "placement"], "auction_ts"),
        impressions=frame(impressions, ["impression_id", "auction_id", "user_id", "product_id", "impression_ts"], "impression_ts"),
        clicks=frame(clicks, ["click_id", "impression_id", "user_id", "product_id", "click_ts"], "click_ts"),
        purchases=frame(purchases, ["purchase_id", "user_id", "product_id", "purchase_ts", "revenue"], "purchase_ts"),
        truth=truth,
        position_weights=pd.DataFrame({"position": np.arange(1, 51), "weight": np.ones(50)}),
        journeys=journey_frame,
    )
