r"""Shapley values over event names (Dalessandro et al. 2012; Zhao et al. 2018).

Players are the n event names (states); a journey's coalition is the set of
names it holds. The value of a coalition S is the conversion rate of the
journeys whose set is a subset of S,

    v(S) = sum_{T subset of S} conv(T) / sum_{T subset of S} count(T),   v = 0 where no journey qualifies,

with count(T) / conv(T) the journeys (conversions) whose set is exactly T.
The Shapley value of i is

    phi_i = sum_{S subset of N \ {i}} |S|! (n - |S| - 1)! / n!  [v(S + i) - v(S)],

and the values add up to v(N) - v(empty) = the overall conversion rate.

Exact and vectorized: journeys become bit-masks, count and conv are two
``bincount`` over the 2^n masks, the subset sums are a cumulative sum along
each axis of the [2]*n reshaped table (the zeta transform, O(n 2^n)), and
phi_i is one weighted sum over the 2^(n-1) coalitions without i. n = 12
(4096 coalitions) takes milliseconds; ``max_states`` guards against 2^n
blowing up.
"""

from __future__ import annotations

from math import factorial

import numpy as np
import pandas as pd

from ml.baselines.channels import channel_table, state_counts
from ml.baselines.paths import journey_paths

METHOD = "shapley"
MAX_STATES = 16


def coalition_values(masks: np.ndarray, converted: np.ndarray, n_players: int) -> np.ndarray:
    """v(S) for every S in 0..2^n - 1 (bit i = player i), from per-journey masks and labels."""
    size = 1 << n_players
    count = np.bincount(masks, minlength=size).astype(np.float64)
    conv = np.bincount(masks, weights=np.asarray(converted, dtype=np.float64), minlength=size)
    shape = (2,) * n_players
    count, conv = count.reshape(shape), conv.reshape(shape)
    for axis in range(n_players):
        count = np.cumsum(count, axis=axis)
        conv = np.cumsum(conv, axis=axis)
    count, conv = count.reshape(size), conv.reshape(size)
    return np.divide(conv, count, out=np.zeros(size), where=count > 0)


def shapley_from_values(values: np.ndarray, n_players: int) -> np.ndarray:
    """phi_i for i in 0..n-1 from v over all 2^n coalitions."""
    coalitions = np.arange(1 << n_players)
    size = np.zeros(len(coalitions), dtype=np.int64)
    for bit in range(n_players):
        size += (coalitions >> bit) & 1
    weight = np.array(
        [factorial(k) * factorial(n_players - k - 1) / factorial(n_players) for k in range(n_players)]
    )
    phi = np.empty(n_players)
    for i in range(n_players):
        without = coalitions[(coalitions >> i) & 1 == 0]
        phi[i] = np.sum(weight[size[without]] * (values[without | (1 << i)] - values[without]))
    return phi


def shapley_values(
    sequences: pd.DataFrame,
    labels: pd.DataFrame,
    split: str | None = "test",
    max_len: int | None = None,
    state_column: str = "event",
    max_states: int = MAX_STATES,
) -> pd.DataFrame:
    """Exact Shapley value of every state (event name by default), as a channel table.

    Columns: method (``shapley``), event, value (phi_e), share (phi_e / sum phi:
    the share of the overall conversion rate), n_events, n_journeys.
    Raises ValueError beyond ``max_states`` states (2^n coalitions).
    """
    paths = journey_paths(sequences, labels, split=split, max_len=max_len)
    counts_by_state = state_counts(paths, state_column)
    states = counts_by_state.index.tolist()
    n = len(states)
    if n > max_states:
        raise ValueError(f"{n} states exceed max_states={max_states}: exact Shapley needs 2^n coalitions")
    if n == 0:
        return channel_table(METHOD, [], np.array([]), counts_by_state)
    code = pd.Index(states).get_indexer(paths[state_column])
    journey_codes, journey_index = np.unique(paths["journey_id"].to_numpy(), return_inverse=True)
    masks = np.zeros(len(journey_codes), dtype=np.int64)
    np.bitwise_or.at(masks, journey_index, np.left_shift(1, code).astype(np.int64))
    converted = np.zeros(len(journey_codes), dtype=bool)
    converted[journey_index] = paths["converted"].to_numpy(dtype=bool)
    phi = shapley_from_values(coalition_values(masks, converted, n), n)
    return channel_table(METHOD, states, phi, counts_by_state)
