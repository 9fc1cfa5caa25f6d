"""Attribution tables of design.md: per event, and aggregated by event, position, store."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.data import SequenceData, journey_loader
from ml.models import SequenceModel
from ml.attribution.methods import ATTRIBUTION_METHODS, normalize_scores

EVENT_ATTRIBUTION_COLUMNS = ["method", "journey_id", "position", "event", "store_id", "score", "converted"]
POSITION_BUCKETS = ("1-5", "6-10", "11-20", "21-50", "51+")
_POSITION_EDGES = [0, 5, 10, 20, 50, np.inf]


def event_attribution(
    model: SequenceModel,
    data: SequenceData,
    method: str,
    split: str | None = "test",
    batch_size: int = 512,
    **method_options,
) -> pd.DataFrame:
    """One row per event of the ``split`` journeys with its normalized score.

    Columns: method, journey_id, position, event, store_id, score, converted
    (design.md's event_attribution less run_id, model, variant, which the
    caller adds). ``score`` sums to 1 over each journey's events (see
    :func:`~ml.attribution.normalize_scores`); positions are those of the
    sequences mart (a journey cut to ``max_len`` keeps its last positions).
    """
    try:
        explainer = ATTRIBUTION_METHODS[method](model, **method_options)
    except KeyError:
        raise KeyError(f"unknown attribution method {method!r}; known: {sorted(ATTRIBUTION_METHODS)}") from None
    device = next(model.parameters()).device
    rows, scores, journeys = [], [], []
    for batch in journey_loader(data, data.indices(split), batch_size=batch_size, shuffle=False):
        batch = batch.to(device)
        normalized = normalize_scores(explainer.attribute(batch), batch.mask)
        # Boolean indexing walks the batch row-major: journey by journey, in
        # position order, as data.event_rows lists them.
        scores.append(normalized[batch.mask].double().cpu().numpy())
        index = batch.index.cpu().numpy()
        rows.append(data.event_rows(index))
        journeys.append(np.repeat(index, data.lengths[index]))
    if not rows:
        return pd.DataFrame(columns=EVENT_ATTRIBUTION_COLUMNS)
    rows, journeys = np.concatenate(rows), np.concatenate(journeys)
    events = data.events.iloc[rows]
    frame = pd.DataFrame(
        {
            "method": method,
            "journey_id": events["journey_id"].to_numpy(),
            "position": events["position"].to_numpy(),
            "event": events["event"].to_numpy(),
            "store_id": events["store_id"].to_numpy(),
            "score": np.concatenate(scores),
            "converted": data.label[journeys] > 0.5,
        }
    )
    return frame.sort_values(["journey_id", "position"], kind="stable").reset_index(drop=True)


def _by_outcome(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    keys = (["method"] if "method" in frame.columns else []) + [key]
    means = frame.pivot_table(index=keys, columns="converted", values="score", aggfunc="mean", observed=True)
    out = pd.DataFrame(
        {
            "mean_converted": means[True] if True in means.columns else np.nan,
            "mean_not_converted": means[False] if False in means.columns else np.nan,
        },
        index=means.index,
    )
    out["lift"] = out["mean_converted"] / out["mean_not_converted"].where(out["mean_not_converted"] > 0)
    out["n_events"] = frame.groupby(keys, observed=True).size().reindex(out.index).astype(np.int64)
    return out.reset_index()


def event_type_attribution(event_attr: pd.DataFrame) -> pd.DataFrame:
    """Per event name: mean score in converted and in not-converted journeys.

    lift = mean_converted / mean_not_converted (NaN when the latter is 0 or
    absent); n_events counts the event's rows. Columns: [method,] event,
    mean_converted, mean_not_converted, lift, n_events.
    """
    return _by_outcome(event_attr, "event")


def position_bucket(position) -> pd.Categorical:
    """Position -> bucket "1-5", "6-10", "11-20", "21-50", "51+"."""
    return pd.cut(np.asarray(position, dtype=np.float64), _POSITION_EDGES, labels=list(POSITION_BUCKETS))


def position_attribution(event_attr: pd.DataFrame) -> pd.DataFrame:
    """:func:`event_type_attribution` by ``position_bucket`` instead of event name."""
    frame = event_attr.assign(position_bucket=position_bucket(event_attr["position"]))
    out = _by_outcome(frame, "position_bucket")
    out["position_bucket"] = out["position_bucket"].astype(str)
    return out


def store_attribution(event_attr: pd.DataFrame, stores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per store: mean score and number of events.

    ``stores`` holds store_id and store_name (dim_stores, or the sequences
    mart itself); without it store_name repeats store_id. Columns: [method,]
    store_id, store_name, mean_score, n_events.
    """
    keys = (["method"] if "method" in event_attr.columns else []) + ["store_id"]
    out = (
        event_attr.groupby(keys, observed=True)["score"]
        .agg(mean_score="mean", n_events="size")
        .reset_index()
    )
    if stores is not None:
        names = stores[["store_id", "store_name"]].drop_duplicates("store_id").set_index("store_id")["store_name"]
        out["store_name"] = out["store_id"].map(names).fillna(out["store_id"])
    else:
        out["store_name"] = out["store_id"]
    return out[[*keys, "store_name", "mean_score", "n_events"]]
