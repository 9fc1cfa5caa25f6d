"""Figures of the bidding evaluation: share of the oracle by budget ratio, spend over the day."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd


def oracle_share_figure(table: pd.DataFrame) -> plt.Figure:
    """Mean share of the hindsight oracle's incremental conversions by budget ratio, one line per policy."""
    shares = table.groupby(["budget_ratio", "policy"])["oracle_share"].mean().unstack("policy")
    fig, ax = plt.subplots(figsize=(9, 5.5))
    colors = plt.get_cmap("tab20").colors
    for i, policy in enumerate(shares.columns):
        bold = policy.startswith("agent") or policy.startswith("oracle")
        ax.plot(shares.index, shares[policy], marker="o", color=colors[i % len(colors)], lw=2.4 if bold else 1.0,
                ls="-" if bold else "--", label=policy)
    ax.axhline(0.9, color="grey", ls="--", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(shares.index), [str(r) for r in shares.index])
    ax.set_xlabel("budget ratio (budget / spend to win every opportunity of positive value)")
    ax.set_ylabel("share of the oracle's incremental conversions")
    n = table["episode_seed"].nunique()
    ax.set_title(f"Share of the hindsight oracle, mean over {n} held-out episodes")
    ax.legend(fontsize=8, ncol=2, loc="lower right")
    fig.tight_layout()
    return fig


def pacing_figure(curves: pd.DataFrame, title: str) -> plt.Figure:
    """Cumulative share of the budget spent per policy over the day, against the even pacing line."""
    fig, ax = plt.subplots(figsize=(9, 5.5))
    colors = plt.get_cmap("tab20").colors
    for i, (policy, rows) in enumerate(curves.groupby("policy", sort=False)):
        agent = policy.startswith("agent")
        ax.plot(rows["step"], rows["spend_share"], color=colors[i % len(colors)], lw=2.4 if agent else 1.0, label=policy)
    first = curves[curves["policy"] == curves["policy"].iloc[0]]
    ax.plot(first["step"], first["even_share"], color="black", ls="--", lw=1.5, label="even pacing (traffic)")
    ax.set_xlabel("decision step (half-hours)")
    ax.set_ylabel("share of the budget spent")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig
