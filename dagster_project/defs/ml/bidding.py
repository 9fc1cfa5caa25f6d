"""The `bidding` group: the auction environment's policies trained and evaluated (thin over ml.bidding).

`bidding/policies`: the predictor fit on logged ad-funnel journeys, the agent and its ablations
trained on logged training days, every policy tuned per budget ratio (one MLflow run; the
agent's Q-network registered as `journeylift-bidder`). `journeylift/bidding_evaluation`: every
policy and the hindsight bounds on held-out days x budget ratios. `journeylift/bidding_intervals`:
share of the oracle and the paired bootstrap gain over the best classical bidder, with the two
figures. The environment is the ad-funnel simulator's structural model, whatever the source:
its truth is what the evaluation scores against. The defaults here are small so `make run`
stays quick; `journeylift bid evaluate` and bench/bench_bidding_evaluation.py run it at scale.
"""

from dataclasses import replace

import dagster as dg
import mlflow
import pandas as pd

from dagster_project.defs.ml.figures import save_figure
from dagster_project.defs.ml.training import MLFLOW_PIP_REQUIREMENTS
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.tracking import REGISTERED_BIDDER, MlflowTracking, model_version_url
from dagster_project.warehouse import MODEL_IO, WAREHOUSE_POOL
from ml.bidding.agent import AgentConfig
from ml.bidding.environment import AuctionConfig, draw_episode
from ml.bidding.evaluation import best_classical, evaluate, pacing_curves, paired_intervals, summary_table
from ml.bidding.suite import AGENTS, BiddingSuite, BiddingSuiteConfig, held_out_seeds, train_suite
from ml.reporting.bidding import oracle_share_figure, pacing_figure

POLICIES_KEY = ["bidding", "policies"]
PACING_RATIO = 0.5  # the budget ratio the spend-over-the-day figure shows


class BiddingConfig(dg.Config):
    """The graph's bidding run, small by default (ml's own defaults are the full scale)."""

    n_journeys: int = 300  # journeys per day (about 3 opportunities each)
    n_log_episodes: int = 2  # training days the agents learn from
    n_tuning_episodes: int = 1  # training days every policy is tuned on
    agent_epochs: int = 2
    agents: list[str] = ["agent"]  # of agent, agent_mlp, agent_no_journey (the ablations)
    predictor_users: int = 1500


def suite_config(config: BiddingConfig) -> BiddingSuiteConfig:
    return BiddingSuiteConfig(
        auction=AuctionConfig(n_journeys=config.n_journeys),
        n_log_episodes=config.n_log_episodes,
        n_tuning_episodes=config.n_tuning_episodes,
        predictor_users=config.predictor_users,
        agents=tuple(config.agents),
        agent=replace(AgentConfig(), epochs=config.agent_epochs),
    )


@dg.asset(key=POLICIES_KEY, io_manager_key=MODEL_IO, pool=WAREHOUSE_POOL, group_name="bidding", kinds={"pytorch", "mlflow"})
def bidding_policies(context: dg.AssetExecutionContext, config: BiddingConfig, mlflow_tracking: MlflowTracking) -> dg.Output[BiddingSuite]:
    """Every bidding policy trained and tuned per budget ratio: fixed, linear, PID pacing and dual
    gradient on predicted pCVR and uplift, and the sequence-aware agent (SequentialQNetwork with a
    SequentialValueNetwork critic), trained offline on logged training days. One MLflow run; the
    agent's Q-network is registered as `journeylift-bidder`."""
    unknown = set(config.agents) - set(AGENTS)
    if unknown:
        raise ValueError(f"unknown agents {sorted(unknown)}; known: {sorted(AGENTS)}")
    suite = train_suite(suite_config(config), log=context.log.info)
    version = None
    with mlflow_tracking.start_run(context, run_name="bidding_policies", tags={"model": "bidding_agent"}):
        mlflow.log_params(config.model_dump() | {"history_length": next(iter(suite.agents.values())).max_len})
        for name, agent in suite.agents.items():
            for part, losses in agent.losses.items():
                for epoch, loss in enumerate(losses, start=1):
                    mlflow.log_metric(f"{name}_{part}_loss", loss, step=epoch)
        if "agent" in suite.agents:
            uri = mlflow.pytorch.log_model(
                suite.agents["agent"].actor, name="q_network", pip_requirements=MLFLOW_PIP_REQUIREMENTS,
                serialization_format="pickle",
            ).model_uri
            mlflow_tracking.use()
            version = mlflow.register_model(uri, REGISTERED_BIDDER).version
    tuned = pd.DataFrame(
        [(ratio, p.name, repr(p)) for ratio, policies in suite.policies.items() for p in policies],
        columns=["budget_ratio", "policy", "parameters"],
    )
    return dg.Output(suite, metadata={
        "registered_version": dg.MetadataValue.url(model_version_url(version, REGISTERED_BIDDER)) if version else "none",
        "history_length": next(iter(suite.agents.values())).max_len if suite.agents else 0,
        "tuned": dg.MetadataValue.md(tuned.to_markdown(index=False)),
    })


class BiddingEvaluationConfig(dg.Config):
    """Held-out days: `episodes` seeds from `seed` (training days use seeds from 1,000,000)."""

    seed: int = 1
    episodes: int = 3


@dg.asset(key=[OUTPUT_SCHEMA, "bidding_evaluation"], pool=WAREHOUSE_POOL, group_name="bidding",
          ins={"suite": dg.AssetIn(POLICIES_KEY)}, metadata={"preview_rows": 40})
def bidding_evaluation(config: BiddingEvaluationConfig, suite: BiddingSuite) -> pd.DataFrame:
    """Policy x budget ratio x held-out episode: incremental conversions (expected, intent held),
    conversions, spend, budget, budget used, CPA (spend per incremental conversion) and the share
    of the hindsight oracle's incremental conversions."""
    return evaluate(suite.policies, suite.predictor, suite.config.auction, held_out_seeds(config.seed, config.episodes))


@dg.asset(key=[OUTPUT_SCHEMA, "bidding_intervals"], pool=WAREHOUSE_POOL, group_name="bidding",
          ins={"suite": dg.AssetIn(POLICIES_KEY), "table": dg.AssetIn([OUTPUT_SCHEMA, "bidding_evaluation"])})
def bidding_intervals(context: dg.AssetExecutionContext, suite: BiddingSuite, table: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """Per policy and budget ratio (and pooled): mean share of the oracle and the relative gain in
    incremental conversions over the best classical bidder, with a paired bootstrap 95% interval
    over the episodes; the figures: share of the oracle by budget ratio, spend over the day."""
    reference = best_classical(table, set(suite.classical))
    intervals = paired_intervals(table, reference).assign(reference=reference)
    episode = draw_episode(suite.config.auction, int(table["episode_seed"].min()))
    curves = pacing_curves(suite.policies[PACING_RATIO], episode, PACING_RATIO * episode.win_everything_spend())
    figures = {
        "oracle_share_figure": save_figure(oracle_share_figure(table), "bidding_oracle_share.png").metadata,
        "pacing_figure": save_figure(
            pacing_figure(curves, f"Spend over the day, budget ratio {PACING_RATIO}, episode {episode.seed}"),
            "bidding_pacing.png",
        ).metadata,
    }
    summary = summary_table(table, intervals)
    pooled = summary[summary["budget_ratio"] == "all"]
    context.log.info(f"best classical: {reference}\n{pooled.to_string(index=False)}")
    return dg.Output(intervals, metadata={
        **figures,
        "best_classical": reference,
        "pooled": dg.MetadataValue.md(pooled.round(3).to_markdown(index=False)),
    })
