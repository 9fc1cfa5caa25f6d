"""The full bidding evaluation: every policy on 50 held-out days x 4 budget ratios, at ml's default scale.

Trains the suite (predictor, the agent and its two ablations, every policy tuned per budget
ratio on training days), evaluates on held-out seeds 1..N, and prints the summary table (share of
the oracle, budget used, CPA, gain over the best classical bidder with its paired 95% interval).
`--stationary` runs the same in the stationary environment, where no sequence gain is expected.
The last line: BENCH bidding_<environment> oracle_share=<agent's mean share in percent>
baseline=<the best classical bidder's> ratio=<agent / best classical> peak_mib=<peak RSS>.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from measure import peak_mib  # noqa: E402

from ml.bidding.environment import AuctionConfig  # noqa: E402
from ml.bidding.evaluation import best_classical, evaluate, paired_intervals, summary_table  # noqa: E402
from ml.bidding.suite import BiddingSuiteConfig, held_out_seeds, train_suite  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stationary", action="store_true")
    parser.add_argument("--journeys", type=int, help="journeys a day (default: ml's AuctionConfig, about "
                        "3.3 opportunities each)")
    parser.add_argument("--out", type=Path, help="write the per-episode table and the summary as CSV here")
    args = parser.parse_args()
    environment = "stationary" if args.stationary else "nonstationary"
    auction = replace(AuctionConfig(), stationary=args.stationary)
    if args.journeys:
        auction = replace(auction, n_journeys=args.journeys)
    config = BiddingSuiteConfig(auction=auction)
    started = time.perf_counter()
    suite = train_suite(config, log=lambda message: print(message, flush=True))
    trained = time.perf_counter()
    table = evaluate(suite.policies, suite.predictor, config.auction, held_out_seeds(args.seed, args.episodes))
    evaluated = time.perf_counter()
    reference = best_classical(table, set(suite.classical))
    intervals = paired_intervals(table, reference)
    summary = summary_table(table, intervals)
    print(f"environment: {environment}, {auction.n_journeys:,} journeys a day; best classical bidder: {reference}; "
          f"trained in {trained - started:.0f} s, evaluated in {evaluated - trained:.0f} s")
    print(summary.round(3).to_string(index=False))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / f"bidding_evaluation_{environment}.csv", index=False)
        summary.to_csv(args.out / f"bidding_summary_{environment}.csv", index=False)
    pooled = intervals[intervals["budget_ratio"] == "all"].set_index("policy")["mean_oracle_share"]
    agent, baseline = 100 * pooled["agent"], 100 * pooled[reference]
    print(f"BENCH bidding_{environment} oracle_share={agent:.1f} baseline={baseline:.1f} "
          f"ratio={agent / baseline:.3f} peak_mib={peak_mib():.0f}")


if __name__ == "__main__":
    main()
