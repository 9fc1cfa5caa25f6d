"""Attribution over time: each run's estimates appended under its data window's end date, what
moved out of the previous window's interval, and a figure of the estimates over the days."""

from __future__ import annotations

import matplotlib
import matplotlib.dates

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ml.data import HONEST_VARIANT
from ml.estimands import COUNTERFACTUAL_METHOD, EXPERIMENT_METHOD, EXPERIMENT_MODEL, REMOVE_AD_EVENTS, REMOVE_EVENT_PREFIX

HISTORY_KEY = ["kind", "model", "variant", "method", "item"]
HISTORY_COLUMNS = ["window_end", *HISTORY_KEY, "estimate", "ci_low", "ci_high", "n"]


def window_end(event_at: pd.Series):
    """The data window's end: the date of the newest event (a timestamp at midnight)."""
    return pd.Timestamp(event_at.max()).normalize()


def history_rows(end, counterfactual_effects: pd.DataFrame, ad_effects: pd.DataFrame,
                 position_attribution: pd.DataFrame) -> pd.DataFrame:
    """This run's estimates in the history's long form, honest variant only, under `end`:
    kind `event` (remove_event:<event>, effect in probability points with its bootstrap interval),
    `ad` (every ad_effects row: the randomized holdout and each model's estimate, with intervals)
    and `position` (attribution lift per position bucket and method; no interval)."""
    effects = counterfactual_effects[(counterfactual_effects["variant"] == HONEST_VARIANT)
                                     & counterfactual_effects["intervention"].str.startswith(REMOVE_EVENT_PREFIX)]
    events = pd.DataFrame({
        "kind": "event", "model": effects["model"], "variant": effects["variant"], "method": COUNTERFACTUAL_METHOD,
        "item": effects["intervention"].str.removeprefix(REMOVE_EVENT_PREFIX), "estimate": effects["effect"],
        "ci_low": effects["ci_low"], "ci_high": effects["ci_high"], "n": effects["n_journeys"],
    })
    ads = pd.DataFrame({
        "kind": "ad", "model": ad_effects["model"], "variant": ad_effects["variant"],
        "method": np.where(ad_effects["model"] == EXPERIMENT_MODEL, EXPERIMENT_METHOD, COUNTERFACTUAL_METHOD),
        "item": ad_effects["intervention"], "estimate": ad_effects["effect"], "ci_low": ad_effects["ci_low"],
        "ci_high": ad_effects["ci_high"], "n": ad_effects["n_journeys"],
    })
    removed_ads = counterfactual_effects[(counterfactual_effects["variant"] == HONEST_VARIANT)
                                         & (counterfactual_effects["intervention"] == REMOVE_AD_EVENTS)]
    ads = pd.concat([ads, pd.DataFrame({
        "kind": "ad", "model": removed_ads["model"], "variant": removed_ads["variant"], "method": COUNTERFACTUAL_METHOD,
        "item": REMOVE_AD_EVENTS, "estimate": removed_ads["effect"], "ci_low": removed_ads["ci_low"],
        "ci_high": removed_ads["ci_high"], "n": removed_ads["n_journeys"],
    })])
    honest = position_attribution[position_attribution["variant"] == HONEST_VARIANT]
    positions = pd.DataFrame({
        "kind": "position", "model": honest["model"], "variant": honest["variant"], "method": honest["method"],
        "item": honest["position_bucket"].astype(str), "estimate": honest["lift"], "ci_low": np.nan,
        "ci_high": np.nan, "n": honest["n_events"],
    })
    rows = pd.concat([events, ads, positions], ignore_index=True)
    rows.insert(0, "window_end", end)
    rows["n"] = rows["n"].fillna(0).astype("int64")
    return rows[HISTORY_COLUMNS].sort_values(HISTORY_KEY, kind="stable").reset_index(drop=True)


def append_history(history: pd.DataFrame | None, rows: pd.DataFrame) -> pd.DataFrame:
    """`history` with `rows` under their window_end, replacing that date's earlier rows: running
    a day again changes no row."""
    if history is None or history.empty:
        return rows.reset_index(drop=True)
    history = history.assign(window_end=pd.to_datetime(history["window_end"]))
    rows = rows.assign(window_end=pd.to_datetime(rows["window_end"]))
    kept = history[~history["window_end"].isin(rows["window_end"])]
    combined = pd.concat([kept, rows], ignore_index=True)
    return combined.sort_values(["window_end", *HISTORY_KEY], kind="stable").reset_index(drop=True)


def interval_departures(history: pd.DataFrame) -> pd.DataFrame:
    """Estimates of the newest window outside the previous window's interval (where it has one)."""
    ends = sorted(set(history["window_end"]))
    if len(ends) < 2:
        return pd.DataFrame(columns=[*HISTORY_KEY, "estimate", "previous_ci_low", "previous_ci_high"])
    newest = history[history["window_end"] == ends[-1]]
    previous = history[history["window_end"] == ends[-2]].rename(
        columns={"ci_low": "previous_ci_low", "ci_high": "previous_ci_high", "estimate": "previous_estimate"}
    )
    joined = newest.merge(previous[[*HISTORY_KEY, "previous_estimate", "previous_ci_low", "previous_ci_high"]],
                          on=HISTORY_KEY)
    outside = joined["previous_ci_low"].notna() & (
        (joined["estimate"] < joined["previous_ci_low"]) | (joined["estimate"] > joined["previous_ci_high"])
    )
    return joined.loc[outside, [*HISTORY_KEY, "previous_estimate", "estimate", "previous_ci_low",
                                "previous_ci_high"]].reset_index(drop=True)


def history_figure(history: pd.DataFrame, model: str) -> plt.Figure:
    """Each event's remove-and-re-predict effect by `model` over the windows (left) and the ad
    effect (right: the randomized holdout and `model`'s estimates), in probability points with
    their 95% intervals."""
    fig, (events_ax, ads_ax) = plt.subplots(1, 2, figsize=(13, 4.8))
    panels = (
        (events_ax, history[(history["kind"] == "event") & (history["model"] == model)],
         f"Effect of removing each event ({model})"),
        (ads_ax, history[(history["kind"] == "ad") & history["model"].isin([model, EXPERIMENT_MODEL])
                         & ~history["item"].str.contains(":")],
         "Ad effect: randomized holdout and model"),
    )
    for ax, rows, title in panels:
        for (item, owner), series in rows.groupby(["item", "model"], sort=True):
            series = series.sort_values("window_end")
            x = pd.to_datetime(series["window_end"])
            label = item if owner == model and ax is events_ax else f"{item} ({owner})"
            estimate = 100 * series["estimate"].to_numpy()
            spread = np.vstack([estimate - 100 * series["ci_low"].to_numpy(), 100 * series["ci_high"].to_numpy() - estimate])
            ax.errorbar(x, estimate, yerr=np.clip(np.nan_to_num(spread), 0, None), marker="o", capsize=3, label=label)
        ax.axhline(0, color="grey", linewidth=0.8)
        if len(rows):
            days = pd.to_datetime(pd.Series(sorted(set(rows["window_end"]))))
            ax.set_xlim(days.min() - pd.Timedelta(days=1), days.max() + pd.Timedelta(days=1))
            ax.xaxis.set_major_locator(matplotlib.dates.DayLocator(interval=max(1, len(days) // 8)))
            ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%Y-%m-%d"))
        ax.set_title(title)
        ax.set_xlabel("data window ends")
        ax.set_ylabel("effect on p(convert), percentage points")
        if len(rows):
            ax.legend(fontsize=7, loc="best")
        ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig
