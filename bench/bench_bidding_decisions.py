"""The agent's decisions per second: one batched forward per decision step against a loop that
decides one opportunity at a time (the same trained model, the same logged states).

The states are every opportunity of logged training days, in step order; the batched path takes
each step's opportunities at once (as AgentBidder does), the baseline calls the same `act` on
each opportunity alone. Both on one torch thread, as the agent runs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from measure import bench_line, peak_mib  # noqa: E402

from ml.bidding.agent import AgentConfig, act, history_length, log_episodes, train_agent  # noqa: E402
from ml.bidding.environment import AuctionConfig, draw_episode  # noqa: E402
from ml.bidding.prediction import logged_predictor  # noqa: E402
from ml.models.item2vec import one_cpu_thread  # noqa: E402

BASELINE_SECONDS = 20.0  # the per-opportunity loop runs this long; its rate is over what it finished


def main() -> None:
    config = AuctionConfig()
    predictor = logged_predictor(config.ad_funnel)
    days = [draw_episode(config, seed) for seed in (2_000_000, 2_000_001)]
    max_len = history_length(days)
    logged = log_episodes(days, (0.5,), predictor, max_len, AgentConfig())
    agent = train_agent(logged, max_len, AgentConfig(epochs=1))
    steps = np.concatenate([np.repeat(np.arange(48), np.diff(d.step_start)) for d in days])
    bounds = np.flatnonzero(np.diff(steps) != 0) + 1
    batches = np.split(np.arange(len(steps)), bounds)
    value, lam = config.conversion_value, 0.5
    print(f"{len(steps)} opportunities in {len(batches)} decision steps (mean {len(steps) / len(batches):.0f} per step), "
          f"history length {max_len}", flush=True)

    with torch.no_grad(), one_cpu_thread(torch.device("cpu")):
        started = time.perf_counter()
        batched_bids = np.concatenate([act(agent, logged.tokens[b], logged.mask[b], logged.current[b], lam, value)[0]
                                       for b in batches])
        batched = len(steps) / (time.perf_counter() - started)
        started, done, loop_bids = time.perf_counter(), 0, []
        while done < len(steps) and time.perf_counter() - started < BASELINE_SECONDS:
            i = slice(done, done + 1)
            loop_bids.append(act(agent, logged.tokens[i], logged.mask[i], logged.current[i], lam, value)[0])
            done += 1
        looped = done / (time.perf_counter() - started)
    same = np.allclose(np.concatenate(loop_bids), batched_bids[:done], rtol=1e-4, atol=1e-6)
    print(f"batched: {batched:.0f} decisions/s; per-opportunity loop: {looped:.0f} decisions/s "
          f"over {done} decisions; same bids: {same}")
    print(bench_line("bidding_decisions", "decisions_per_s", batched, looped, peak_mib()))


if __name__ == "__main__":
    main()
