"""The sequence-aware bidding agent (ml/bidding/agent.py) and the suite that trains every policy.

- Per-user history: bounded deques, a bounded number of users, memory flat over a long stream.
- No look-ahead: changing what happens after a step never changes a bid at or before it (and
  changing what happened before does, so the check can fail).
- A tiny suite trains in seconds; its agents never overspend on held-out episodes.
"""

from __future__ import annotations

from dataclasses import replace
import tracemalloc

import numpy as np
import pytest

from ml.bidding.agent import (
    AgentBidder,
    AgentConfig,
    JourneyHistory,
    SequentialQNetwork,
    history_length,
    log_episodes,
    token_spec,
    train_agent,
    TOKEN_WIDTH,
)
from ml.bidding.environment import AuctionConfig, draw_episode, traffic_profile
from ml.bidding.evaluation import evaluate, run_policy
from ml.bidding.prediction import logged_predictor
from ml.bidding.suite import BiddingSuiteConfig, held_out_seeds, train_suite

SMALL = AuctionConfig(n_journeys=150, n_competitors=20)
TINY_AGENT = AgentConfig(epochs=1, d_model=16, embedding_dim=4)


def test_history_keeps_at_most_max_len_steps_per_user_and_max_users():
    history = JourneyHistory(max_len=3, max_users=5)
    for step in range(10):
        users = np.array([step % 7, 100 + step])
        tokens = np.full((2, TOKEN_WIDTH), float(step), dtype=np.float32)
        history.record(users, tokens, np.zeros(2), np.zeros(2))
    assert len(history) == 5
    assert all(len(steps) <= 3 for steps in history.users.values())
    # the most recently seen users stay; the oldest is gone
    assert 109 in history.users and 100 not in history.users
    tokens, mask = history.sequences(np.array([109, 100]), TOKEN_WIDTH)
    assert mask[0].sum() == 1 and not mask[1].any()
    assert tokens[0, 0, 0] == 9.0


def test_history_memory_stays_flat_over_a_long_stream():
    rng = np.random.default_rng(0)
    history = JourneyHistory(max_len=6, max_users=2000)

    def feed(n_steps: int) -> None:
        for _ in range(n_steps):
            users = rng.integers(0, 10**7, size=200)
            history.record(users, rng.random((200, TOKEN_WIDTH), dtype=np.float32), np.zeros(200), np.zeros(200))

    tracemalloc.start()
    feed(50)
    warm = tracemalloc.get_traced_memory()[0]
    feed(500)  # ten times more users than fit
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(history) == 2000
    assert after < 1.2 * warm


def test_an_unbounded_history_would_grow():
    """The flat-memory check can fail: without the user bound the same stream keeps every user."""
    history = JourneyHistory(max_len=6, max_users=10**9)
    rng = np.random.default_rng(0)
    for _ in range(30):
        history.record(rng.integers(0, 10**7, size=200), np.zeros((200, TOKEN_WIDTH), np.float32), np.zeros(200), np.zeros(200))
    assert len(history) > 5000


@pytest.fixture(scope="module")
def trained():
    predictor = logged_predictor(SMALL.ad_funnel, n_users=800)
    days = [draw_episode(SMALL, s) for s in (500, 501)]
    max_len = history_length(days)
    logged = log_episodes(days, (0.5,), predictor, max_len, TINY_AGENT)
    return predictor, train_agent(logged, max_len, TINY_AGENT)


def test_the_history_length_comes_from_the_journeys():
    days = [draw_episode(SMALL, s) for s in (500, 501)]
    shows = np.concatenate([np.bincount(d.journey) for d in days])
    assert history_length(days) == int(np.ceil(np.percentile(shows, 90)))
    busier = replace(SMALL, ad_funnel=replace(SMALL.ad_funnel, touch_base=6.0))
    assert history_length([draw_episode(busier, 500)]) > history_length(days)


def bids_by_step(bidder, episode, budget):
    record = []

    class Recording:
        name = "recording"

        def bid(self, obs):
            bids = bidder.bid(obs)
            record.append(bids.copy())
            return bids

        def observe(self, *outcome):
            bidder.observe(*outcome)

    run_policy(Recording(), episode, budget)
    return record


def test_changing_future_steps_never_changes_an_action(trained):
    predictor, agent = trained
    episode = draw_episode(SMALL, 7)
    budget = 0.5 * episode.win_everything_spend()
    bidder = AgentBidder(agent, predictor, SMALL.conversion_value, traffic_profile(SMALL), lambda0=0.3, eta=0.2)
    before = bids_by_step(bidder, episode, budget)
    cut = 30
    later = np.arange(episode.step_start[cut + 1], episode.n_opportunities)
    price = episode.market_price.copy()
    price[later] *= 3.0
    placement = episode.placement.copy()
    placement[later] = (placement[later] + 1) % 3
    future_changed = replace(episode, market_price=price, placement=placement)
    after = bids_by_step(bidder, future_changed, budget)
    for t in range(cut + 1):
        assert np.array_equal(before[t], after[t]), f"step {t} changed"
    assert any(not np.array_equal(b, a) for b, a in zip(before[cut + 1 :], after[cut + 1 :]))
    # the check can fail: changing the past does change later actions
    earlier = np.arange(episode.step_start[10], episode.step_start[cut])
    price = episode.market_price.copy()
    price[earlier] *= 0.2
    past_changed = replace(episode, market_price=price)
    changed = bids_by_step(bidder, past_changed, budget)
    assert not all(np.array_equal(b, a) for b, a in zip(before[cut:], changed[cut:]))


def test_the_q_network_reads_the_past_only_through_its_mask(trained):
    _, agent = trained
    import torch

    net = agent.actor
    k, length = 4, agent.max_len
    rng = np.random.default_rng(0)
    tokens = np.zeros((k, length, TOKEN_WIDTH), np.float32)
    tokens[..., 0] = rng.integers(1, 7, (k, length))
    tokens[..., 1] = rng.integers(1, 3, (k, length))
    tokens[..., 2:] = rng.random((k, length, TOKEN_WIDTH - 2))
    mask = np.zeros((k, length), bool)
    mask[:, :2] = True
    other = tokens.copy()
    other[:, 2:] = rng.random((k, length - 2, TOKEN_WIDTH))  # what lies beyond the user's history
    other[:, 2:, 0] = 1
    other[:, 2:, 1] = 1
    current = rng.random((k, net.head[0].in_features - net.d_model - 3)).astype(np.float32)
    args = (torch.from_numpy(mask), torch.from_numpy(current), torch.full((k,), 0.02), torch.full((k,), 0.5))
    with torch.no_grad():
        q1 = net(torch.from_numpy(tokens), *args)
        q2 = net(torch.from_numpy(other), *args)
    assert torch.allclose(q1, q2, atol=1e-5)
    assert SequentialQNetwork(token_spec(length), "sequence").encoder_kind == "sequence"
    with pytest.raises(ValueError, match="unknown encoder"):
        SequentialQNetwork(token_spec(length), "lstm")


def test_a_tiny_suite_trains_and_never_overspends():
    config = BiddingSuiteConfig(
        auction=SMALL, budget_ratios=(0.25,), n_log_episodes=2, n_tuning_episodes=1, predictor_users=600, agent=TINY_AGENT
    )
    suite = train_suite(config)
    assert set(suite.agents) == {"agent", "agent_mlp", "agent_no_journey"}
    table = evaluate(suite.policies, suite.predictor, SMALL, held_out_seeds(1, 2))
    assert {"agent", "agent_mlp", "agent_no_journey", "oracle", *suite.classical} <= set(table["policy"])
    assert (table["spend"] <= table["budget"] + 1e-9).all()
    agent_share = table.loc[table["policy"] == "agent", "oracle_share"]
    assert (agent_share > 0.3).all()  # it bids sensibly even trained for one epoch on two days
    with pytest.raises(ValueError, match="held-out seeds"):
        held_out_seeds(999_999, 5)
