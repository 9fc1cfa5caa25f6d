r"""Policies run side by side on the same episodes: the ``bidding_evaluation`` table and its intervals.

Each row is one policy x budget ratio x episode seed: incremental_conversions (expected, from the
structural model with intent held), conversions, spend, budget, budget_used, cpa (spend per
incremental conversion), oracle_share (incremental conversions / the hindsight oracle's). The
hindsight rows (``oracle``, ``oracle_predicted``, ``best_fixed_multiplier``) are bounds that see
the day's log; the bidders see one step at a time. ``paired_intervals`` compares each policy
with the best classical bidder on the same episodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.bidding.bidders import classical_bidders, tune
from ml.bidding.environment import AuctionConfig, AuctionEnvironment, Episode, EpisodeOutcome, draw_episode, traffic_profile
from ml.bidding.oracle import hindsight_oracle, oracle_on_values
from ml.bidding.prediction import ConversionPredictor

BUDGET_RATIOS: tuple[float, ...] = (0.25, 0.5, 1.0, 1.5)
ORACLE, ORACLE_PREDICTED, BEST_FIXED_MULTIPLIER = "oracle", "oracle_predicted", "best_fixed_multiplier"
HINDSIGHT = (ORACLE, ORACLE_PREDICTED, BEST_FIXED_MULTIPLIER)
COLUMNS = [
    "policy",
    "budget_ratio",
    "episode_seed",
    "incremental_conversions",
    "conversions",
    "spend",
    "budget",
    "budget_used",
    "cpa",
    "oracle_share",
]


def run_policy(policy, episode: Episode, budget: float) -> EpisodeOutcome:
    """One episode, step by step: the policy bids on each step's opportunities at once; a policy
    with ``observe`` is told each step's outcome (won, paid, rewards) before the next."""
    env = AuctionEnvironment(episode, budget)
    obs, done = env.reset(), False
    observe = getattr(policy, "observe", None)
    while not done:
        rows = obs.opportunities
        obs, rewards, done = env.step(policy.bid(obs))
        if observe is not None:
            observe(env.won[rows], env.paid[rows], rewards)
    return env.outcome()


@dataclass
class HindsightLinear:
    """b = a V v_i: the true incremental value at the current state; a bound, it sees the truth."""

    episode: Episode
    value: float
    a: float

    def bid(self, obs) -> np.ndarray:
        return self.a * self.value * self.episode.incremental_value(obs.opportunities, obs.counts)


@dataclass
class FixedSelection:
    """Bids everything on a chosen set of opportunities and nothing elsewhere (how an oracle plays)."""

    won: np.ndarray

    def bid(self, obs) -> np.ndarray:
        return np.where(self.won[obs.opportunities], np.inf, 0.0)


MULTIPLIER_GRID = tuple(np.geomspace(0.02, 50, 24))


def hindsight_outcomes(episode: Episode, budget: float, predictor: ConversionPredictor) -> dict[str, EpisodeOutcome]:
    """The three bounds on one episode: oracle, oracle on predicted values, best fixed multiplier."""
    predicted = predictor.uplift(episode.start_counts[episode.journey], episode.product[episode.journey], episode.placement)
    out = {
        ORACLE: run_policy(FixedSelection(hindsight_oracle(episode, budget).won), episode, budget),
        ORACLE_PREDICTED: run_policy(FixedSelection(oracle_on_values(episode, predicted, budget).won), episode, budget),
    }
    value = episode.config.conversion_value
    runs = [run_policy(HindsightLinear(episode, value, a), episode, budget) for a in MULTIPLIER_GRID]
    out[BEST_FIXED_MULTIPLIER] = max(runs, key=lambda r: r.incremental_conversions)
    return out


def tune_on_training(bidders: list, config: AuctionConfig, budget_ratio: float, training_seeds: list[int]) -> list:
    """Each bidder tuned for one budget ratio on its grid: mean incremental conversions on training days."""
    episodes = [draw_episode(config, seed) for seed in training_seeds]
    budgets = [budget_ratio * e.win_everything_spend() for e in episodes]

    def score(bidder) -> float:
        return float(np.mean([run_policy(bidder, e, b).incremental_conversions for e, b in zip(episodes, budgets)]))

    return [tune(bidder, score)[0] for bidder in bidders]


def tune_classical(
    predictor: ConversionPredictor, config: AuctionConfig, budget_ratio: float, training_seeds: list[int]
) -> list:
    """Each classical bidder tuned for one budget ratio on training days."""
    return tune_on_training(classical_bidders(predictor, config), config, budget_ratio, training_seeds)


def evaluate(
    policies_by_ratio: dict[float, list],
    predictor: ConversionPredictor,
    config: AuctionConfig,
    seeds: list[int],
) -> pd.DataFrame:
    """The ``bidding_evaluation`` rows: every policy (and the three bounds) on every ratio x seed."""
    rows = []
    for seed in seeds:
        episode = draw_episode(config, seed)
        unit = episode.win_everything_spend()
        for ratio, policies in policies_by_ratio.items():
            budget = ratio * unit
            outcomes = hindsight_outcomes(episode, budget, predictor)
            outcomes |= {policy.name: run_policy(policy, episode, budget) for policy in policies}
            oracle = outcomes[ORACLE].incremental_conversions
            for name, o in outcomes.items():
                rows.append(
                    (
                        name,
                        ratio,
                        seed,
                        o.incremental_conversions,
                        o.conversions,
                        o.spend,
                        o.budget,
                        o.budget_used,
                        o.cpa,
                        o.incremental_conversions / oracle if oracle > 0 else np.nan,
                    )
                )
    return pd.DataFrame(rows, columns=COLUMNS)


def best_classical(table: pd.DataFrame, classical: set[str]) -> str:
    """The classical bidder with the highest mean incremental conversions over all rows."""
    means = table[table["policy"].isin(classical)].groupby("policy")["incremental_conversions"].mean()
    return str(means.idxmax())


def paired_intervals(
    table: pd.DataFrame, reference: str, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> pd.DataFrame:
    """Per policy and budget ratio: mean oracle share, and the relative gain in incremental
    conversions over ``reference`` on the same episodes, with a paired bootstrap interval
    (episodes resampled, the ratio of means recomputed); ``budget_ratio`` "all" pools ratios."""
    rng = np.random.default_rng(seed)
    wide = table.pivot_table(index=["budget_ratio", "episode_seed"], columns="policy", values="incremental_conversions")
    share = table.pivot_table(index=["budget_ratio", "episode_seed"], columns="policy", values="oracle_share")
    rows = []
    groups = [(r, wide.xs(r, level="budget_ratio"), share.xs(r, level="budget_ratio")) for r in wide.index.unique("budget_ratio")]
    groups.append(("all", wide, share))
    alpha = (1 - level) / 2
    for ratio, w, s in groups:
        ref = w[reference].to_numpy()
        picks = rng.integers(len(ref), size=(n_boot, len(ref)))
        for policy in w.columns:
            x = w[policy].to_numpy()
            gain = x.mean() / ref.mean() - 1
            boot = x[picks].mean(axis=1) / ref[picks].mean(axis=1) - 1
            low, high = np.quantile(boot, [alpha, 1 - alpha])
            rows.append(
                (policy, str(ratio), len(x), float(s[policy].mean()), float(x.mean()), float(gain), float(low), float(high))
            )
    return pd.DataFrame(
        rows,
        columns=[
            "policy",
            "budget_ratio",
            "n_episodes",
            "mean_oracle_share",
            "mean_incremental_conversions",
            "gain_vs_best_classical",
            "gain_ci_low",
            "gain_ci_high",
        ],
    )


def summary_table(table: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """What a person reads first, per policy and budget ratio (and all ratios pooled): mean share
    of the oracle, incremental conversions, budget used, CPA, and the gain over the best
    classical bidder with its paired 95% interval."""
    means = table.groupby(["policy", "budget_ratio"])[["budget_used", "cpa"]].mean().reset_index()
    pooled = table.groupby("policy")[["budget_used", "cpa"]].mean().reset_index().assign(budget_ratio="all")
    means["budget_ratio"] = means["budget_ratio"].astype(str)
    out = intervals.merge(pd.concat([means, pooled]), on=["policy", "budget_ratio"], how="left")
    out["gain_vs_best_classical"] = [
        f"{g:+.1%} [{lo:+.1%}, {hi:+.1%}]"
        for g, lo, hi in zip(out["gain_vs_best_classical"], out["gain_ci_low"], out["gain_ci_high"])
    ]
    out = out.drop(columns=["gain_ci_low", "gain_ci_high"])
    order = {p: i for i, p in enumerate(out.groupby("policy")["mean_oracle_share"].mean().sort_values(ascending=False).index)}
    return out.sort_values(["budget_ratio", "policy"], key=lambda c: c.map(order) if c.name == "policy" else c).reset_index(drop=True)


def pacing_curves(policies: list, episode: Episode, budget: float) -> pd.DataFrame:
    """Cumulative share of the budget spent by the end of each step, per policy, next to the even
    pacing line (the forecast traffic share so far): policy, step, spend_share, even_share."""
    even = np.cumsum(traffic_profile(episode.config))
    frames = []
    for policy in policies:
        outcome = run_policy(policy, episode, budget)
        frames.append(
            pd.DataFrame(
                {
                    "policy": policy.name,
                    "step": np.arange(len(even)),
                    "spend_share": np.cumsum(outcome.spend_by_step) / budget,
                    "even_share": even,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
