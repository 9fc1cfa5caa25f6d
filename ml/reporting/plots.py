"""Matplotlib figures for the attribution report; callers save them (PNG) and log them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ml.attribution import POSITION_BUCKETS
from ml.data import HONEST_VARIANT


def attribution_report_figure(
    event_types: pd.DataFrame,
    positions: pd.DataFrame,
    events: pd.DataFrame,
    title: str,
    heatmap_bucket: pd.Series | None = None,
) -> plt.Figure:
    """Four panels for one model, variant and method.

    event_types: event, mean_converted, mean_not_converted, lift (event_type_attribution rows)
    positions:   position_bucket, lift (position_attribution rows)
    events:      event, position_bucket, score (event-level rows, for the heatmap)
    """
    fig, axes = plt.subplots(2, 2, figsize=(15, 11))
    by_lift = event_types.sort_values("lift")

    ax = axes[0, 0]
    # One neutral colour: a lift below 1 is less credit in converted journeys, not harm (the
    # effects figure says which way an event moves conversion).
    ax.barh(by_lift["event"], by_lift["lift"], color="tab:blue")
    ax.axvline(1.0, color="grey", lw=1, ls="--")
    ax.set_title("Event-type lift: mean share in converted / in not-converted journeys")
    ax.set_xlabel("lift (1 = the same share either way; not an effect on conversion)")

    ax = axes[0, 1]
    pos = positions.set_index("position_bucket").reindex(list(POSITION_BUCKETS)).dropna(subset=["lift"])
    ax.bar(pos.index, pos["lift"], color="tab:blue")
    ax.axhline(1.0, color="grey", lw=1, ls="--")
    ax.set_title("Position lift by bucket")
    ax.set_xlabel("position in journey")
    ax.set_ylabel("lift")

    ax = axes[1, 0]
    y = np.arange(len(by_lift))
    ax.barh(y - 0.2, by_lift["mean_converted"], height=0.4, label="converted")
    ax.barh(y + 0.2, by_lift["mean_not_converted"], height=0.4, label="not converted")
    ax.set_yticks(y, by_lift["event"])
    ax.set_title("Mean attribution: converted vs not converted")
    ax.set_xlabel("mean normalized score per event")
    ax.legend(loc="lower right")

    ax = axes[1, 1]
    heat = (
        events.pivot_table(index="event", columns="position_bucket", values="score", aggfunc="mean", observed=True)
        .reindex(columns=list(POSITION_BUCKETS))
        .reindex(index=by_lift["event"][::-1])
    )
    image = ax.imshow(heat.to_numpy(dtype=float), aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(heat.columns)), heat.columns)
    ax.set_yticks(range(len(heat.index)), heat.index)
    ax.set_title("Mean score: event x position bucket")
    fig.colorbar(image, ax=ax, shrink=0.8)

    fig.suptitle(title, fontsize=14)
    fig.tight_layout()
    return fig


def effects_figure(effects: pd.DataFrame, experiment: pd.Series | None, title: str) -> plt.Figure:
    """The headline: remove-and-re-predict effects in probability points with 95% intervals, the
    simulator's truth beside each where known, hollow where the interval spans zero; the
    randomized holdout's ad effect below them.

    effects:    label, effect, ci_low, ci_high, true_effect (NaN without truth); the summary's rows
    experiment: effect, ci_low, ci_high[, true_effect] of the holdout, or None
    """
    frame = effects.sort_values("effect", kind="stable")
    labels, rows = list(frame["label"]), [frame[["effect", "ci_low", "ci_high", "true_effect"]]]
    if experiment is not None:
        labels.append("ad effect, randomized holdout")
        rows.append(pd.DataFrame([experiment.reindex(["effect", "ci_low", "ci_high", "true_effect"])]))
    values = 100 * pd.concat(rows, ignore_index=True).astype(float)
    y = np.arange(len(values))
    spans = (values["ci_low"] <= 0) & (values["ci_high"] >= 0)
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(values) + 2))
    err = np.vstack([values["effect"] - values["ci_low"], values["ci_high"] - values["effect"]])
    ax.errorbar(values["effect"], y, xerr=err, fmt="none", ecolor="tab:blue", capsize=3)
    ax.scatter(values.loc[~spans, "effect"], y[~spans], color="tab:blue", zorder=3, label="estimate, 95% interval")
    ax.scatter(values.loc[spans, "effect"], y[spans], facecolors="white", edgecolors="tab:blue", zorder=3,
               label="estimate whose interval spans 0")
    if values["true_effect"].notna().any():
        ax.scatter(values["true_effect"], y, marker="x", color="black", zorder=4, label="simulator truth")
    if experiment is not None:
        ax.axhline(len(values) - 1.5, color="lightgrey", lw=1)
    ax.axvline(0.0, color="grey", lw=1, ls="--")
    ax.set_yticks(y, labels)
    ax.set_xlabel("effect on p(convert), probability points (with the events - without them)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def counterfactual_figure(effects: pd.DataFrame, truth: pd.DataFrame | None, title: str) -> plt.Figure:
    """Estimated removal effects with 95% intervals, next to the simulator's truth where known.

    effects: intervention, effect, ci_low, ci_high (one model and variant)
    truth:   intervention, true_effect (or None for data without known truth)
    """
    frame = effects.sort_values("effect")
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(frame) + 1.5))
    y = np.arange(len(frame))
    err = np.vstack([frame["effect"] - frame["ci_low"], frame["ci_high"] - frame["effect"]])
    ax.errorbar(frame["effect"], y, xerr=err, fmt="o", label="estimate (95% bootstrap CI)")
    if truth is not None and not truth.empty:
        true = frame[["intervention"]].merge(truth, on="intervention", how="left")["true_effect"]
        ax.scatter(true, y, marker="x", color="tab:red", zorder=3, label="simulator truth")
    ax.axvline(0.0, color="grey", lw=1, ls="--")
    ax.set_yticks(y, frame["intervention"])
    ax.set_xlabel("mean p(journey) - p(journey without the events)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def _note_undefined_auc(ax: plt.Axes, pivot: pd.DataFrame) -> bool:
    """Write on ``ax`` that test AUC is undefined when ``pivot`` holds no finite AUC (a test
    split of one class, e.g. a tiny real sample); True when it did."""
    if np.isfinite(pivot.to_numpy(dtype=float)).any():
        return False
    ax.text(0.5, 0.5, "test AUC undefined:\nthe test split holds journeys of one class only",
            ha="center", va="center", transform=ax.transAxes)
    return True


def leaderboard_figure(board: pd.DataFrame) -> plt.Figure:
    """Test AUC per model family, variants side by side (with_funnel shows what leakage does)."""
    # dropna=False keeps models whose test AUC is undefined (a test split of one class).
    pivot = board.pivot_table(index="model", columns="variant", values="test_auc", dropna=False)
    pivot = pivot.sort_values(HONEST_VARIANT if HONEST_VARIANT in pivot.columns else pivot.columns[0])
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(pivot) + 2))
    _note_undefined_auc(ax, pivot)
    y = np.arange(len(pivot))
    width = 0.8 / max(len(pivot.columns), 1)
    for i, variant in enumerate(pivot.columns):
        ax.barh(y + i * width - 0.4 + width / 2, pivot[variant], height=width, label=variant)
    ax.set_yticks(y, pivot.index)
    ax.axvline(0.5, color="grey", lw=1, ls="--")
    ax.set_xlim(0.4, 1.0)
    ax.set_xlabel("test AUC")
    ax.set_title("Leaderboard: test AUC by model family and variant")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def leakage_comparison_figure(comparison: pd.DataFrame, top_events: pd.DataFrame) -> plt.Figure:
    """Left: test AUC per model and variant. Right: the top events by counterfactual effect per
    variant for one model, so events that only look like drivers under leakage stand out.

    comparison: model, variant, test_auc
    top_events: variant, event, effect (a few rows per variant)
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(16, 6))
    pivot = comparison.pivot_table(index="model", columns="variant", values="test_auc", dropna=False)
    if not _note_undefined_auc(left, pivot):
        pivot.plot.bar(ax=left, rot=0)
    left.axhline(0.5, color="grey", lw=1, ls="--")
    left.set_ylim(0.4, 1.0)
    left.set_ylabel("test AUC")
    left.set_title("Same journeys, three variants: what leakage does to AUC")
    variants = list(top_events["variant"].unique())
    labels, values, colors = [], [], []
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, variant in enumerate(variants):
        rows = top_events[top_events["variant"] == variant]
        labels += [f"{variant}: {e}" for e in rows["event"]]
        values += list(rows["effect"])
        colors += [palette[i % len(palette)]] * len(rows)
    y = np.arange(len(labels))[::-1]
    right.barh(y, values, color=colors)
    right.set_yticks(y, labels)
    right.axvline(0.0, color="grey", lw=1)
    right.set_xlabel("counterfactual effect: mean p - p without the event")
    right.set_title("Top attributed events per variant")
    fig.tight_layout()
    return fig


def faithfulness_figure(curves: pd.DataFrame, title: str) -> plt.Figure:
    """Deletion (left) and insertion (right) curves per method; random order is the floor.

    curves: method, curve (deletion / insertion), step (fraction of events), mean_p
    """
    fig, axes = plt.subplots(1, 2, figsize=(14, 5), sharey=True)
    for ax, curve in zip(axes, ("deletion", "insertion")):
        for method, rows in curves[curves["curve"] == curve].groupby("method"):
            style = {"color": "grey", "ls": "--"} if method == "random" else {}
            ax.plot(rows["step"], rows["mean_p"], marker="o", ms=3, label=method, **style)
        ax.set_title(f"{curve}: {'remove' if curve == 'deletion' else 'add back'} the top-k events")
        ax.set_xlabel("share of the journey's events")
        ax.set_ylabel("mean predicted p(convert)")
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def scorecard_figure(scorecard: pd.DataFrame) -> plt.Figure:
    """One panel per metric: each model and method's score against the simulator's truth."""
    metrics = list(scorecard["metric"].unique())
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 0.35 * scorecard.groupby("metric").size().max() + 2))
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        rows = scorecard[scorecard["metric"] == metric].dropna(subset=["value"]).sort_values("value")
        labels = rows["model"] + " / " + rows["variant"] + " / " + rows["method"]
        ax.barh(np.arange(len(rows)), rows["value"])
        ax.set_yticks(np.arange(len(rows)), labels, fontsize=7)
        ax.set_title(metric)
    fig.suptitle("Scored against the simulator's truth")
    fig.tight_layout()
    return fig


def literature_comparison_figure(comparison: pd.DataFrame, title: str) -> plt.Figure:
    """Test AUC of journeylift's models (and, hollow, on the short journeys only) beside published
    figures with their spread. comparison: ml.evaluation.literature COMPARISON_COLUMNS plus
    auc_spread for the published rows."""
    rows = comparison.iloc[::-1].reset_index(drop=True)  # the first row on top
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.8))
    ours = rows["source"] == rows["source"].iloc[-1]
    y = np.arange(len(rows))
    spread = rows["auc_spread"] if "auc_spread" in rows.columns else pd.Series(np.nan, index=rows.index)
    ax.barh(y[~ours], rows.loc[~ours, "auc"], xerr=spread[~ours].fillna(0), color="lightgrey",
            label=rows.loc[~ours, "source"].iloc[0] if (~ours).any() else None)
    ax.barh(y[ours], rows.loc[ours, "auc"], color="tab:blue", label=f"{rows['source'].iloc[-1]}, every test journey")
    ax.scatter(rows.loc[ours, "auc_short_journeys"], y[ours], facecolors="none", edgecolors="black", zorder=3,
               label=f"{rows['source'].iloc[-1]}, test journeys no longer than any non-converted one")
    ax.set_yticks(y, rows["method"])
    ax.axvline(0.5, color="grey", lw=1, ls="--")
    ax.set_xlim(0.4, 1.0)
    ax.set_xlabel("test AUC")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1 - 1.2 / (len(rows) + 4)), fontsize=8)
    fig.tight_layout()
    return fig


def grounding_figure(curve: pd.DataFrame, experiment: pd.Series, grounded_strength: float, fitted_strength: float,
                     title: str) -> plt.Figure:
    """The model's ad (swap) effect, intent held, as the strength of intent varies, against the
    randomized holdout's estimate and interval; the strength fitted to the journeys alone and the
    one fitted to the journeys and the holdout together.

    curve:      intent_strength, model_swap_effect (ml.counterfactual.Grounding.curve)
    experiment: effect, ci_low, ci_high of the holdout
    """
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(curve["intent_strength"], 100 * curve["model_swap_effect"], color="tab:blue",
            label="latent-intent model's ad effect, intent held")
    ax.axhspan(100 * experiment["ci_low"], 100 * experiment["ci_high"], color="tab:orange", alpha=0.2,
               label="randomized holdout, 95% interval")
    ax.axhline(100 * experiment["effect"], color="tab:orange", lw=1.5)
    ax.axvline(grounded_strength, color="black", lw=1.5,
               label=f"fitted to the journeys and the holdout: {grounded_strength:.2f}")
    ax.axvline(fitted_strength, color="grey", lw=1, ls="--", label=f"fitted to the journeys alone: {fitted_strength:.2f}")
    ax.set_xlabel("strength of intent in the conversion logit (gamma, per sd of latent intent)")
    ax.set_ylabel("ad effect on p(convert), probability points")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig
