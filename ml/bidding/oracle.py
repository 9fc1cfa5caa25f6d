r"""The hindsight bounds of an episode: pure functions of its log (values, realized prices, budget).

The knapsack
------------
Given values v_i >= 0, prices m_i > 0 and a budget B, the LP relaxation

    max sum_i v_i x_i   s.t.   sum_i m_i x_i <= B,   0 <= x_i <= 1

is solved exactly by taking opportunities in decreasing v_i / m_i and the first one that does
not fit fractionally (Dantzig's greedy). Its value is the *LP bound*; the integer selection is
the whole items of that order plus, greedily, any later item that still fits.

The oracles
-----------
``hindsight_oracle``: the knapsack on each opportunity's true incremental value at the day's
start state and its realized market price, then scored with the true set value (which carries
the diminishing returns between wins of one journey). ``predicted_oracle``: the same knapsack
on predicted values, scored with the true set value: its gap to the first is what prediction
error costs, the gap between it and a bidder what control costs. ``best_fixed_multiplier``: the
best single bid = a x v_i (true value at the current state) over a grid of a, in hindsight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.bidding.environment import Episode


@dataclass(frozen=True)
class KnapsackSolution:
    selected: np.ndarray  # bool mask: the integer selection
    value: float  # sum of values selected
    lp_bound: float  # the LP relaxation's optimum (>= value)
    fraction: np.ndarray  # the LP's optimal x


def knapsack(values: np.ndarray, prices: np.ndarray, budget: float) -> KnapsackSolution:
    """Greedy by value / price: the LP optimum (fractional) and an integer selection under ``budget``."""
    values = np.asarray(values, dtype=float)
    prices = np.asarray(prices, dtype=float)
    if (prices <= 0).any():
        raise ValueError("prices must be positive")
    useful = values > 0
    order = np.flatnonzero(useful)[np.argsort(-(values[useful] / prices[useful]), kind="stable")]
    cumulative = np.cumsum(prices[order])
    whole = cumulative <= budget
    n_whole = int(whole.sum())  # a prefix: cumulative is increasing
    fraction = np.zeros(len(values))
    fraction[order[:n_whole]] = 1.0
    if n_whole < len(order):
        spent = cumulative[n_whole - 1] if n_whole else 0.0
        fraction[order[n_whole]] = (budget - spent) / prices[order[n_whole]]
    selected = fraction == 1.0
    left = budget - prices[selected].sum()
    for i in order[n_whole:]:
        if prices[i] <= left:
            selected[i] = True
            left -= prices[i]
    return KnapsackSolution(
        selected=selected,
        value=float(values[selected].sum()),
        lp_bound=float(values @ fraction),
        fraction=fraction,
    )


@dataclass(frozen=True)
class OracleResult:
    won: np.ndarray  # bool mask over the episode's opportunities
    incremental_conversions: float  # true set value of ``won``
    spend: float
    lp_bound: float  # of the knapsack it solved (on the values it was given)


def oracle_on_values(episode: Episode, values: np.ndarray, budget: float) -> OracleResult:
    """Win the knapsack's selection on ``values`` at the realized prices; score it with the truth."""
    solution = knapsack(values, episode.market_price, budget)
    return OracleResult(
        won=solution.selected,
        incremental_conversions=episode.set_value(solution.selected),
        spend=float(episode.market_price[solution.selected].sum()),
        lp_bound=solution.lp_bound,
    )


def hindsight_oracle(episode: Episode, budget: float) -> OracleResult:
    """The knapsack optimum on true incremental values (at the day's start state) and realized prices."""
    return oracle_on_values(episode, episode.start_values(), budget)
