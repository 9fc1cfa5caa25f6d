r"""Classical bidders: a policy maps an ``Observation`` (one step's opportunities) to bids.

Every bidder but the fixed one bids on a value estimate v_hat per opportunity, in conversions:
``signal="pcvr"`` uses the predicted conversion probability of the journey p_hat(c), the
incremental variant ``signal="uplift"`` the predicted uplift of the impression (see
``ConversionPredictor``). V is the value of a conversion (``AuctionConfig.conversion_value``).

- ``FixedBid``:     b = a
- ``LinearBid``:    b = a V v_hat
- ``PidPacing``:    b = a V v_hat exp(k_p e_t + k_i sum_s e_s), e_t the pacing error: the
                    forecast share of the day's traffic so far minus the share of the budget spent
- ``DualGradient``: b = a V v_hat / (1 + mu_t), mu_{t+1} = max(0, mu_t + eta (spend_t / rho_t - 1)),
                    rho_t = B x the step's forecast traffic share (online dual descent on the
                    budget constraint of the knapsack LP)

``tune`` picks each bidder's parameters on training episodes by grid search.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import numpy as np

from ml.bidding.environment import AuctionConfig, Observation, traffic_profile
from ml.bidding.prediction import ConversionPredictor

SIGNALS = ("pcvr", "uplift")


def value_estimate(predictor: ConversionPredictor, obs: Observation, signal: str) -> np.ndarray:
    if signal == "pcvr":
        return predictor.probability(obs.counts, obs.product)
    if signal == "uplift":
        return predictor.uplift(obs.counts, obs.product, obs.placement)
    raise ValueError(f"unknown signal {signal!r}; one of {SIGNALS}")


@dataclass
class FixedBid:
    a: float = 1.0
    name: str = "fixed"

    def bid(self, obs: Observation) -> np.ndarray:
        return np.full(len(obs.opportunities), self.a)


@dataclass
class ValueBidder:
    """A bidder on v_hat = the predictor's ``signal``; b = a V v_hat x what the subclass paces by."""

    predictor: ConversionPredictor = field(repr=False)
    value: float
    signal: str = "pcvr"
    a: float = 1.0
    kind = "linear"

    @property
    def name(self) -> str:
        return f"{self.kind}_{self.signal}"

    def base_bid(self, obs: Observation) -> np.ndarray:
        return self.a * self.value * value_estimate(self.predictor, obs, self.signal)


@dataclass
class LinearBid(ValueBidder):
    def bid(self, obs: Observation) -> np.ndarray:
        return self.base_bid(obs)


@dataclass
class PidPacing(ValueBidder):
    kp: float = 2.0
    ki: float = 0.2
    _integral: float = field(default=0.0, repr=False)
    kind = "pid"

    def bid(self, obs: Observation) -> np.ndarray:
        if obs.step == 0:
            self._integral = 0.0
        error = obs.traffic_elapsed - obs.spend / obs.budget
        self._integral += error
        return np.exp(np.clip(self.kp * error + self.ki * self._integral, -5.0, 5.0)) * self.base_bid(obs)


@dataclass
class DualGradient(ValueBidder):
    traffic: np.ndarray = field(default_factory=lambda: np.ones(1), repr=False)
    eta: float = 0.3
    _mu: float = field(default=0.0, repr=False)
    _last_spend: float = field(default=0.0, repr=False)
    kind = "dual"

    def bid(self, obs: Observation) -> np.ndarray:
        if obs.step == 0:
            self._mu, self._last_spend = 0.0, 0.0
        else:
            spent = obs.spend - self._last_spend
            target = obs.budget * self.traffic[obs.step - 1]
            self._mu = max(0.0, self._mu + self.eta * (spent / max(target, 1e-9) - 1.0))
        self._last_spend = obs.spend
        return self.base_bid(obs) / (1.0 + self._mu)


# Each bidder's tuning grid: parameter -> values tried.
GRIDS: dict[str, dict[str, tuple[float, ...]]] = {
    "fixed": {"a": tuple(np.geomspace(0.5, 200, 16))},
    "linear": {"a": tuple(np.geomspace(0.05, 500, 20))},
    "pid": {"a": tuple(np.geomspace(0.1, 100, 8)), "kp": (1.0, 4.0), "ki": (0.0, 0.3)},
    "dual": {"a": tuple(np.geomspace(0.3, 300, 8)), "eta": (0.1, 0.5)},
    "agent": {"lambda0": (0.0, 0.3, 1.0), "eta": (0.0, 0.2)},
    "agent_pid": {"lambda0": (0.0, 0.1, 0.3), "kp": (1.0, 4.0), "ki": (0.3,)},  # lambda0 = 0: buy all the budget allows
}


def classical_bidders(predictor: ConversionPredictor, config: AuctionConfig) -> list:
    """One untuned bidder of each kind and signal (fixed once: it has no signal)."""
    value = config.conversion_value
    bidders: list = [FixedBid()]
    for signal in SIGNALS:
        bidders += [
            LinearBid(predictor, value, signal),
            PidPacing(predictor, value, signal),
            DualGradient(predictor, value, signal, traffic=traffic_profile(config)),
        ]
    return bidders


def grid_of(bidder) -> dict[str, tuple[float, ...]]:
    return GRIDS[getattr(bidder, "kind", bidder.name)]


def tune(bidder, score) -> tuple[object, float]:
    """The bidder with the grid's parameters that maximize ``score(bidder)``; and that score."""
    grid = grid_of(bidder)
    best, best_score = bidder, -np.inf
    for values in itertools.product(*grid.values()):
        candidate = replace(bidder, **dict(zip(grid, values)))
        s = score(candidate)
        if s > best_score:
            best, best_score = candidate, s
    return best, best_score
