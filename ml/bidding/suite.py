"""Training every policy for the evaluation: the predictor, the classical bidders and the agents.

One ``BiddingSuiteConfig`` fixes the environment, the training days, the budget ratios and the
agent's knobs; ``train_suite`` returns the tuned policies per budget ratio, ready for
``evaluation.evaluate`` on held-out seeds (the asset graph, ``journeylift bid evaluate`` and
``bench/bench_bidding_evaluation.py`` all call these two).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ml.bidding.agent import AgentBidder, AgentConfig, TrainedAgent, history_length, log_episodes, train_agent
from ml.bidding.bidders import classical_bidders
from ml.bidding.environment import AuctionConfig, draw_episode, traffic_profile
from ml.bidding.evaluation import BUDGET_RATIOS, tune_on_training
from ml.bidding.prediction import ConversionPredictor, logged_predictor

# The agent and its ablations: name -> encoder.
AGENTS: dict[str, str] = {"agent": "sequence", "agent_mlp": "mlp", "agent_no_journey": "none"}
TRAINING_SEED_BASE = 1_000_000  # training days are drawn from seeds far from any held-out seed


@dataclass(frozen=True)
class BiddingSuiteConfig:
    auction: AuctionConfig = field(default_factory=AuctionConfig)
    budget_ratios: tuple[float, ...] = BUDGET_RATIOS
    n_log_episodes: int = 4  # training days the agent learns from
    n_tuning_episodes: int = 2  # training days every policy's parameters are tuned on
    predictor_users: int = 4000  # users in the logged ad-funnel data the predictor is fit on
    agents: tuple[str, ...] = tuple(AGENTS)
    agent: AgentConfig = field(default_factory=AgentConfig)


@dataclass
class BiddingSuite:
    config: BiddingSuiteConfig
    predictor: ConversionPredictor
    agents: dict[str, TrainedAgent]
    policies: dict[float, list]  # budget ratio -> tuned policies
    classical: tuple[str, ...]  # names of the classical bidders among them


def training_seeds(n: int, offset: int = 0) -> list[int]:
    return [TRAINING_SEED_BASE + offset + i for i in range(n)]


def train_suite(config: BiddingSuiteConfig, log=lambda message: None) -> BiddingSuite:
    """Fit the predictor, train the agents on logged training days, tune every policy per budget ratio."""
    auction = config.auction
    predictor = logged_predictor(auction.ad_funnel, n_users=config.predictor_users)
    log_days = [draw_episode(auction, s) for s in training_seeds(config.n_log_episodes)]
    max_len = history_length(log_days)
    agents: dict[str, TrainedAgent] = {}
    for name in config.agents:
        agent_config = replace(config.agent, encoder=AGENTS[name])
        logged = log_episodes(log_days, config.budget_ratios, predictor, max_len, agent_config)
        agents[name] = train_agent(logged, max_len, agent_config)
        log(f"{name}: trained on {len(logged.value)} logged opportunities, history length {max_len}")
    tuning = training_seeds(config.n_tuning_episodes, offset=config.n_log_episodes)
    policies: dict[float, list] = {}
    for ratio in config.budget_ratios:
        bidders = classical_bidders(predictor, auction)
        bidders += [
            AgentBidder(agent, predictor, auction.conversion_value, traffic_profile(auction), name=name)
            for name, agent in agents.items()
        ]
        policies[ratio] = tune_on_training(bidders, auction, ratio, tuning)
        log(f"budget ratio {ratio}: {len(bidders)} policies tuned on {len(tuning)} training days")
    classical = tuple(b.name for b in classical_bidders(predictor, auction))
    return BiddingSuite(config=config, predictor=predictor, agents=agents, policies=policies, classical=classical)


def held_out_seeds(seed: int, episodes: int) -> list[int]:
    """Evaluation seeds: ``episodes`` consecutive seeds from ``seed`` (never a training seed)."""
    seeds = list(range(seed, seed + episodes))
    if max(seeds) >= TRAINING_SEED_BASE:
        raise ValueError(f"held-out seeds must stay below {TRAINING_SEED_BASE} (the training days)")
    return seeds

