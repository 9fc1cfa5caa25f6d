r"""Markov-chain removal effects (Anderl, Becker, von Wangenheim & Schumann, 2016).

A first-order Markov chain over states {start, e_1..e_n, conversion, null}:
each journey is the path start -> e_(1) -> ... -> e_(k) -> conversion (if it
converted) or null (if not). Transition probabilities are the observed
transition counts, row-normalized. With Q the transitions among the
transient states (start and the events) and r the one-step probabilities of
reaching conversion, the absorption probabilities are

    a = (I - Q)^{-1} r,      P(conversion) = a[start].

Removing state s sends every transition into s to null instead (Q[:, s] = 0):

    removal effect RE_s = (P(conversion) - P_{-s}(conversion)) / P(conversion)

in [0, 1]: the relative drop in conversion probability without s. The
attributed conversions of s are C * RE_s / sum_f RE_f (C = conversions).
Self-loops (s -> s) change nothing (they only delay absorption).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.baselines.channels import channel_table, state_counts
from ml.baselines.paths import journey_ends, journey_paths, journey_starts

METHOD = "markov_removal"


def transition_counts(paths: pd.DataFrame, states, state_column: str = "event") -> np.ndarray:
    """Counts [n + 3, n + 3] of transitions between states 0..n-1, start (n), conversion (n+1), null (n+2)."""
    n = len(states)
    start, conversion, null = n, n + 1, n + 2
    code = pd.Index(states).get_indexer(paths[state_column])
    journey = paths["journey_id"].to_numpy()
    opens, closes = journey_starts(journey), journey_ends(journey)
    previous = np.empty_like(code)
    previous[0:1] = start
    previous[1:] = code[:-1]
    previous[opens] = start
    outcome = np.where(paths["converted"].to_numpy(dtype=bool)[closes], conversion, null)
    source = np.concatenate([previous, code[closes]])
    target = np.concatenate([code, outcome])
    size = n + 3
    return np.bincount(source * size + target, minlength=size * size).reshape(size, size).astype(np.float64)


def conversion_probability(counts: np.ndarray, removed: int | None = None) -> float:
    """P(absorbed in conversion | start) of the chain, optionally with state ``removed`` redirected to null."""
    n = counts.shape[0] - 3
    start, conversion = n, n + 1
    totals = counts.sum(axis=1, keepdims=True)
    probabilities = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    transient = np.arange(n + 1)  # events then start
    q = probabilities[np.ix_(transient, transient)]
    r = probabilities[transient, conversion]
    if removed is not None:
        q = q.copy()
        q[:, removed] = 0.0
    absorbed = np.linalg.solve(np.eye(n + 1) - q, r)
    return float(absorbed[start])


def markov_removal_effects(
    sequences: pd.DataFrame,
    labels: pd.DataFrame,
    split: str | None = "test",
    max_len: int | None = None,
    state_column: str = "event",
) -> pd.DataFrame:
    """Removal effect of every state (event name by default), as a channel table.

    Columns: method (``markov_removal``), event (the state), value (RE_s),
    share (RE_s / sum RE: the share of attributed conversions), n_events,
    n_journeys. Journeys as :func:`~ml.baselines.journey_paths` selects them.
    """
    paths = journey_paths(sequences, labels, split=split, max_len=max_len)
    counts_by_state = state_counts(paths, state_column)
    states = counts_by_state.index.tolist()
    if not states:
        return channel_table(METHOD, [], np.array([]), counts_by_state)
    counts = transition_counts(paths, states, state_column)
    base = conversion_probability(counts)
    if base > 0:
        effects = np.array([(base - conversion_probability(counts, removed=s)) / base for s in range(len(states))])
    else:
        effects = np.zeros(len(states))
    return channel_table(METHOD, states, effects, counts_by_state)
