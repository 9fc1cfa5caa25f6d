r"""A one-day second-price auction environment on the ad-funnel simulator's structural model.

The episode
-----------
One episode is one day of ``steps`` decision steps (48: half-hours). ``n_journeys`` user x
product journeys are live that day; journey j carries the ad-funnel model's latent intent
z_j = v_u + e_j, its product's appeal (``product_appeal``: the same products, same seed, as
``simulate_ad_funnel``) and the journey so far: c_j, its counts of the six ad events
(impression and click per placement) before the day, drawn with the simulator's touch and
click models scaled by ``prior_touch_share``.

During the day journey j shows up ``1 + Poisson(touch_base * exp(touch_intent_slope * z_j))``
times (capped at ``max_touches``), as in the simulator: intent drives traffic, so targeting is
confounded. Each showing is an *opportunity* (a user x product x placement, the placement
drawn from the simulator's shares) at a step drawn from the intraday traffic profile.

Winning an opportunity of placement p shows an impression: the journey gains one impression
and its expected click, ``click_probability(z_j, p)`` clicks (an expected count keeps the
environment deterministic given its seed). The journey's conversion probability is the
simulator's ``purchase_probability``, with diminishing returns through log(1 + c), so the
value of a later opportunity depends on what was won before. The true incremental value of
winning opportunity i of journey j at state c is

    v_i(c) = P(z_j, c + e_imp(p) + q_i e_click(p)) - P(z_j, c),

intent held; a policy's incremental conversions are sum_j P(z_j, c_j^end) - P(z_j, c_j^0),
which is also the sum of its rewards (each reward is v_i at the state when it was won).

The market
----------
``n_competitors`` competitors bid pCVR x value x their own multiplier x noise, where pCVR is
their noisy estimate of the journey's conversion probability; each has a daily budget, most
pace it by throttling their participation against the traffic curve, the rest bid until their
budget runs out (mid-day for the small ones). Competition is stronger in the day than at
night. The market is simulated once per episode, independently of our campaign (a small
bidder in a large market): the *market price* of an opportunity is max(reserve, highest
competing bid), and that realized price log is what the hindsight oracle optimizes against.

The auction
-----------
Second price with a reserve: our bid b wins when b >= market price m (ties go to us) and pays
m, never more than b. Bids are capped at the remaining budget, and within a step the wins are
charged in arrival order, a win that would overspend being dropped, so spend never exceeds the
budget. ``stationary=True`` gives a flat day (no seasonality in traffic or competition) where
every opportunity is a journey of its own: no sequence to exploit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ml.simulate.ad_funnel import (
    EVENTS,
    PLACEMENTS,
    AdFunnelConfig,
    click_probability,
    product_appeal,
    purchase_probability,
)

N_EVENTS = len(EVENTS)
PLACEMENT_SHARES = np.array([p[1] for p in PLACEMENTS])


@dataclass(frozen=True)
class AuctionConfig:
    """Size and market of one episode; the structural model is ``ad_funnel``'s."""

    n_journeys: int = 1500
    steps: int = 48
    n_competitors: int = 30
    reserve_price: float = 0.5
    conversion_value: float = 50.0  # money per conversion: the scale of every bid
    competitor_multiplier_sd: float = 0.35  # log-sd of the competitors' own multipliers
    competitor_pcvr_noise_sd: float = 0.5  # log-sd of a competitor's pCVR error, per bid
    competitor_bid_noise_sd: float = 0.2  # log-sd of a competitor's bid noise
    competitor_budget_range: tuple[float, float] = (0.15, 1.2)  # budget / spend of never pacing
    unpaced_share: float = 0.3  # competitors that do not pace: they bid until they run out
    pacing_gain: float = 2.0  # paced competitors' throttle update per unit of pacing error
    prior_touch_share: float = 0.5  # journey so far: touches before the day, per touch of the day
    traffic_peak: float = 1.5  # height of the lunch and evening traffic peaks above the night
    competition_amplitude: float = 0.35  # competition by hour: 1 + a * sin, strongest mid-afternoon
    stationary: bool = False
    ad_funnel: AdFunnelConfig = field(default_factory=AdFunnelConfig)


def traffic_profile(config: AuctionConfig) -> np.ndarray:
    """Share of the day's opportunities at each step: a night floor, a lunch and an evening peak."""
    if config.stationary:
        return np.full(config.steps, 1.0 / config.steps)
    hour = (np.arange(config.steps) + 0.5) * 24.0 / config.steps
    curve = 0.25 + config.traffic_peak * (np.exp(-(((hour - 12.5) / 1.8) ** 2)) + 1.3 * np.exp(-(((hour - 20.0) / 2.2) ** 2)))
    curve += 0.5 * ((hour > 7) & (hour < 23))
    return curve / curve.sum()


def competition_profile(config: AuctionConfig) -> np.ndarray:
    """Multiplier on every competitor's bids at each step."""
    if config.stationary:
        return np.ones(config.steps)
    hour = (np.arange(config.steps) + 0.5) * 24.0 / config.steps
    return 1.0 + config.competition_amplitude * np.sin(2 * np.pi * (hour - 9.0) / 24.0)


@dataclass(frozen=True)
class Episode:
    """One day's opportunity log, in arrival order (sorted by step), and its journeys."""

    config: AuctionConfig
    seed: int
    intent: np.ndarray  # (n_journeys,) latent, hidden from policies
    product: np.ndarray  # (n_journeys,) product index
    appeal: np.ndarray  # (n_journeys,) the product's appeal
    start_counts: np.ndarray  # (n_journeys, 6) the journey so far
    step: np.ndarray  # (n_opportunities,) decision step
    journey: np.ndarray  # (n_opportunities,) journey index
    placement: np.ndarray  # (n_opportunities,) index into PLACEMENTS
    click_probability: np.ndarray  # (n_opportunities,) true, hidden from policies
    market_price: np.ndarray  # (n_opportunities,) max(reserve, highest competing bid)
    step_start: np.ndarray  # (steps + 1,) opportunities of step t are step_start[t]:step_start[t+1]

    @property
    def n_opportunities(self) -> int:
        return len(self.step)

    def increment(self, opportunities: np.ndarray | slice) -> np.ndarray:
        """Counts a win of each opportunity adds: one impression, its expected click."""
        placement = self.placement[opportunities]
        delta = np.zeros((len(placement), N_EVENTS))
        rows = np.arange(len(placement))
        delta[rows, 2 * placement] = 1.0
        delta[rows, 2 * placement + 1] = self.click_probability[opportunities]
        return delta

    def conversion_probability(self, journeys: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """True P(convert) of these journeys at these counts, intent held."""
        return purchase_probability(self.config.ad_funnel, self.intent[journeys], self.appeal[journeys], counts)

    def incremental_value(self, opportunities: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """v_i(c): true gain in P(convert) from winning each opportunity, its journey at ``counts``."""
        journeys = self.journey[opportunities]
        return self.conversion_probability(journeys, counts + self.increment(opportunities)) - self.conversion_probability(
            journeys, counts
        )

    def start_values(self) -> np.ndarray:
        """v_i at the day's start state of every opportunity (each as its journey's only win)."""
        every = np.arange(self.n_opportunities)
        return self.incremental_value(every, self.start_counts[self.journey])

    def win_everything_spend(self) -> float:
        """Spend needed to win every opportunity of positive incremental value: the budgets' unit."""
        return float(self.market_price[self.start_values() > 0].sum())

    def set_value(self, won: np.ndarray) -> float:
        """True incremental conversions of winning exactly the opportunities in mask ``won``."""
        end = self.start_counts.copy()
        np.add.at(end, self.journey[won], self.increment(np.flatnonzero(won)))
        every = np.arange(len(self.intent))
        return float((self.conversion_probability(every, end) - self.conversion_probability(every, self.start_counts)).sum())


def draw_episode(config: AuctionConfig, seed: int) -> Episode:
    """Draw one day: journeys, opportunities and the competitors' market, all from ``seed``."""
    sim = config.ad_funnel
    appeal_of_product = product_appeal(sim, np.random.default_rng(sim.seed))
    rng = np.random.default_rng([sim.seed, seed])
    n = config.n_journeys
    user_intent = rng.normal(0.0, sim.user_intent_sd, n)
    intent = user_intent + rng.normal(0.0, sim.journey_intent_sd, n)
    product = rng.integers(sim.n_products, size=n)
    touches = np.minimum(1 + rng.poisson(sim.touch_base * np.exp(sim.touch_intent_slope * intent)), sim.max_touches)
    if config.stationary:
        touches = np.ones(n, dtype=np.int64)

    # The journey so far: earlier touches, clicked as the simulator clicks.
    prior = rng.poisson(config.prior_touch_share * touches)
    prior_journey = np.repeat(np.arange(n), prior)
    prior_placement = rng.choice(len(PLACEMENTS), size=len(prior_journey), p=PLACEMENT_SHARES)
    prior_click = rng.random(len(prior_journey)) < click_probability(sim, intent[prior_journey], prior_placement)
    start_counts = np.zeros((n, N_EVENTS))
    np.add.at(start_counts, (prior_journey, 2 * prior_placement), 1.0)
    np.add.at(start_counts, (prior_journey[prior_click], 2 * prior_placement[prior_click] + 1), 1.0)

    # The day's opportunities, by step.
    journey = np.repeat(np.arange(n), touches)
    step = rng.choice(config.steps, size=len(journey), p=traffic_profile(config))
    order = np.lexsort((rng.random(len(journey)), step))
    journey, step = journey[order], step[order]
    placement = rng.choice(len(PLACEMENTS), size=len(journey), p=PLACEMENT_SHARES)
    q_click = click_probability(sim, intent[journey], placement)
    step_start = np.searchsorted(step, np.arange(config.steps + 1))

    start_p = purchase_probability(sim, intent, appeal_of_product[product], start_counts)
    market = _market_prices(config, rng, start_p[journey], step, step_start)
    return Episode(
        config=config,
        seed=seed,
        intent=intent,
        product=product,
        appeal=appeal_of_product[product],
        start_counts=start_counts,
        step=step,
        journey=journey,
        placement=placement,
        click_probability=q_click,
        market_price=market,
        step_start=step_start,
    )


def _market_prices(
    config: AuctionConfig, rng: np.random.Generator, p_convert: np.ndarray, step: np.ndarray, step_start: np.ndarray
) -> np.ndarray:
    """The competitors' auctions step by step: the highest competing bid (or the reserve) per opportunity."""
    m = config.n_competitors
    multiplier = np.exp(rng.normal(0.0, config.competitor_multiplier_sd, m))
    traffic = traffic_profile(config)
    season = competition_profile(config)
    # A competitor's budget: a share of what it would spend bidding on everything, roughly its
    # expected bid times its share of the wins.
    expected_bid = config.conversion_value * float(p_convert.mean()) * multiplier
    budget = rng.uniform(*config.competitor_budget_range, m) * expected_bid * len(step) / m
    paced = rng.random(m) >= config.unpaced_share
    throttle = np.ones(m)
    spent = np.zeros(m)
    price = np.full(len(step), config.reserve_price)
    elapsed_traffic = np.concatenate([[0.0], np.cumsum(traffic)])
    for t in range(config.steps):
        rows = slice(step_start[t], step_start[t + 1])
        k = step_start[t + 1] - step_start[t]
        if k == 0:
            continue
        active = spent < budget
        pcvr = p_convert[rows, None] * np.exp(rng.normal(0.0, config.competitor_pcvr_noise_sd, (k, m)))
        bids = pcvr * config.conversion_value * multiplier * season[t] * np.exp(rng.normal(0.0, config.competitor_bid_noise_sd, (k, m)))
        bids *= active & (rng.random((k, m)) < throttle)
        top_two = np.partition(bids, m - 2, axis=1)[:, m - 2 :] if m >= 2 else np.concatenate([np.zeros((k, 1)), bids], 1)
        highest, second = top_two.max(axis=1), top_two.min(axis=1)
        price[rows] = np.maximum(config.reserve_price, highest)
        winner = bids.argmax(axis=1)
        sold = highest >= config.reserve_price
        spent += np.bincount(winner[sold], weights=np.maximum(config.reserve_price, second[sold]), minlength=m)
        # Paced competitors throttle participation so spend follows the traffic curve.
        target = budget * elapsed_traffic[t + 1]
        error = (target - spent) / np.maximum(budget, 1e-9)
        throttle = np.where(paced, np.clip(throttle * np.exp(config.pacing_gain * error), 0.02, 1.0), 1.0)
    return price


@dataclass
class Observation:
    """What a policy sees before bidding on one step's opportunities (no latent, no true value)."""

    step: int
    steps: int
    opportunities: np.ndarray  # indices into the episode's log
    journey: np.ndarray
    product: np.ndarray
    placement: np.ndarray
    counts: np.ndarray  # (k, 6) each opportunity's journey so far, wins of earlier steps included
    budget: float
    remaining_budget: float
    spend: float
    n_won: int
    n_seen: int
    traffic_elapsed: float  # forecast share of the day's traffic before this step (the traffic profile)

    @property
    def time_left(self) -> float:
        return 1.0 - self.step / self.steps


class AuctionEnvironment:
    """Gymnasium-shaped: ``reset()`` -> Observation; ``step(bids)`` -> (Observation | None, rewards, done)."""

    def __init__(self, episode: Episode, budget: float):
        self.episode = episode
        self.budget = float(budget)
        self.traffic_elapsed = np.concatenate([[0.0], np.cumsum(traffic_profile(episode.config))])
        self.reset()

    def reset(self) -> Observation:
        e = self.episode
        self.t = 0
        self.counts = e.start_counts.copy()
        self.remaining = self.budget
        self.won = np.zeros(e.n_opportunities, dtype=bool)
        self.paid = np.zeros(e.n_opportunities)
        self.reward = np.zeros(e.n_opportunities)
        self.bids = np.zeros(e.n_opportunities)
        self.spend_by_step = np.zeros(e.config.steps)
        return self._observe()

    def _observe(self) -> Observation:
        e = self.episode
        rows = np.arange(e.step_start[self.t], e.step_start[self.t + 1])
        journeys = e.journey[rows]
        return Observation(
            step=self.t,
            steps=e.config.steps,
            opportunities=rows,
            journey=journeys,
            product=e.product[journeys],
            placement=e.placement[rows],
            counts=self.counts[journeys].copy(),
            budget=self.budget,
            remaining_budget=self.remaining,
            spend=self.budget - self.remaining,
            n_won=int(self.won.sum()),
            n_seen=int(e.step_start[self.t]),
            traffic_elapsed=float(self.traffic_elapsed[self.t]),
        )

    def step(self, bids: np.ndarray) -> tuple[Observation | None, np.ndarray, bool]:
        """Run this step's auctions in arrival order; rewards are the true v_i of each opportunity won."""
        e = self.episode
        rows = np.arange(e.step_start[self.t], e.step_start[self.t + 1])
        bids = np.asarray(bids, dtype=float)
        if bids.shape != rows.shape:
            raise ValueError(f"step {self.t} has {len(rows)} opportunities, got {bids.shape} bids")
        if np.isnan(bids).any() or (bids < 0).any():
            raise ValueError("bids must be non-negative numbers")
        capped = np.minimum(bids, self.remaining)
        price = e.market_price[rows]
        won = capped >= price
        charge = np.where(won, price, 0.0)
        if charge.sum() > self.remaining:
            # Charged in arrival order: a win the remaining budget cannot pay for is dropped.
            left = self.remaining
            for i in np.flatnonzero(won):
                if price[i] <= left:
                    left -= price[i]
                else:
                    won[i] = False
            charge = np.where(won, price, 0.0)
        rewards = np.zeros(len(rows))
        pending = np.flatnonzero(won)
        while len(pending):
            # Wins of one journey within a step apply in arrival order, each at the state the last left.
            _, first = np.unique(e.journey[rows[pending]], return_index=True)
            now = pending[first]
            opp = rows[now]
            journeys = e.journey[opp]
            rewards[now] = e.incremental_value(opp, self.counts[journeys])
            self.counts[journeys] += e.increment(opp)
            pending = np.setdiff1d(pending, now)
        self.remaining -= float(charge.sum())
        self.remaining = max(self.remaining, 0.0)  # float dust only: charges never exceed it
        self.won[rows] = won
        self.paid[rows] = charge
        self.reward[rows] = rewards
        self.bids[rows] = bids
        self.spend_by_step[self.t] = charge.sum()
        self.t += 1
        done = self.t >= e.config.steps
        return (None if done else self._observe()), rewards, done

    def outcome(self) -> EpisodeOutcome:
        e = self.episode
        every = np.arange(len(e.intent))
        start = e.conversion_probability(every, e.start_counts)
        end = e.conversion_probability(every, self.counts)
        return EpisodeOutcome(
            incremental_conversions=float((end - start).sum()),
            conversions=float(end.sum()),
            spend=float(self.paid.sum()),
            budget=self.budget,
            n_won=int(self.won.sum()),
            spend_by_step=self.spend_by_step.copy(),
        )


@dataclass(frozen=True)
class EpisodeOutcome:
    incremental_conversions: float  # expected, from the structural model, intent held
    conversions: float  # expected conversions of the day's journeys at the end of the day
    spend: float
    budget: float
    n_won: int
    spend_by_step: np.ndarray

    @property
    def budget_used(self) -> float:
        return self.spend / self.budget if self.budget > 0 else 0.0

    @property
    def cpa(self) -> float:
        """Cost per incremental conversion."""
        return self.spend / self.incremental_conversions if self.incremental_conversions > 0 else float("nan")
