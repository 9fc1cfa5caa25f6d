"""Attribution tables of design.md: per event, and aggregated by event, position, store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ml.attribution.methods import (
    ATTRIBUTION_METHODS,
    DEFAULT_IG_STEPS,
    IntegratedGradients,
    completeness_frame,
    normalize_scores,
)
from ml.data import SequenceData, journey_loader
from ml.models import SequenceModel

#: design.md's event_attribution columns (less run_id, model, variant), then signed_score.
EVENT_ATTRIBUTION_COLUMNS = [
    "method", "journey_id", "position", "event", "store_id", "score", "converted", "signed_score",
]
POSITION_BUCKETS = ("1-5", "6-10", "11-20", "21-50", "51+")
_POSITION_EDGES = [0, 5, 10, 20, 50, np.inf]


def _event_rows(data: SequenceData, method: str, journeys: list, scores: list) -> pd.DataFrame:
    """The event_attribution frame from per-batch journey indices and their events' signed scores."""
    if not journeys:
        return pd.DataFrame(columns=EVENT_ATTRIBUTION_COLUMNS)
    journeys, signed = np.concatenate(journeys), np.concatenate(scores)
    events = data.events.iloc[data.event_rows(journeys)]
    frame = pd.DataFrame(
        {
            "method": method,
            "journey_id": events["journey_id"].to_numpy(),
            "position": events["position"].to_numpy(),
            "event": events["event"].to_numpy(),
            "store_id": events["store_id"].to_numpy(),
            "score": np.abs(signed),
            "converted": data.label[np.repeat(journeys, data.lengths[journeys])] > 0.5,
            "signed_score": signed,
        }
    )
    return frame.sort_values(["journey_id", "position"], kind="stable").reset_index(drop=True)


def _split_batches(model: SequenceModel, data: SequenceData, split: str | None, batch_size: int):
    device = next(model.parameters()).device
    for batch in journey_loader(data, data.indices(split), batch_size=batch_size, shuffle=False):
        yield batch.to(device)


def _event_scores(raw: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    # Boolean indexing walks the batch row-major: journey by journey, in
    # position order, as data.event_rows lists them.
    return normalize_scores(raw, mask, signed=True)[mask].double().cpu().numpy()


def event_attribution(
    model: SequenceModel,
    data: SequenceData,
    method: str,
    split: str | None = "test",
    batch_size: int = 512,
    **method_options,
) -> pd.DataFrame:
    """One row per event of the ``split`` journeys with its normalized score.

    Columns EVENT_ATTRIBUTION_COLUMNS: method, journey_id, position, event,
    store_id, score, converted (design.md's event_attribution less run_id,
    model, variant, which the caller adds), signed_score. ``score`` sums to 1
    over each journey's events (see :func:`~ml.attribution.normalize_scores`);
    ``signed_score`` is the same share with the raw score's sign (negative:
    the event lowers the predicted conversion), so score = |signed_score|.
    Positions are those of the sequences mart (a journey cut to ``max_len``
    keeps its last positions).
    """
    try:
        explainer = ATTRIBUTION_METHODS[method](model, **method_options)
    except KeyError:
        raise KeyError(f"unknown attribution method {method!r}; known: {sorted(ATTRIBUTION_METHODS)}") from None
    journeys, scores = [], []
    for batch in _split_batches(model, data, split, batch_size):
        scores.append(_event_scores(explainer.attribute(batch), batch.mask))
        journeys.append(batch.index.cpu().numpy())
    return _event_rows(data, method, journeys, scores)


def integrated_gradients_attribution(
    model: SequenceModel,
    data: SequenceData,
    split: str | None = "test",
    n_steps: int = DEFAULT_IG_STEPS,
    baseline="zeros",
    batch_size: int = 512,
    min_gap: float = 1e-3,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Integrated gradients' event_attribution rows and its completeness, from one pass.

    (events, completeness): ``events`` as :func:`event_attribution` with
    method ``integrated_gradients``; ``completeness`` one row per ``split``
    journey with at least one event, columns COMPLETENESS_COLUMNS (see
    :func:`~ml.attribution.completeness_frame`), read from the same raw scores
    plus f(x) and f(x') (see :meth:`~ml.attribution.IntegratedGradients.completeness`).
    """
    explainer = IntegratedGradients(model, n_steps=n_steps, baseline=baseline)
    journeys, scores, sums, logits, baseline_logits = [], [], [], [], []
    for batch in _split_batches(model, data, split, batch_size):
        raw, logit, baseline_logit = explainer.completeness(batch)
        scores.append(_event_scores(raw, batch.mask))
        journeys.append(batch.index.cpu().numpy())
        sums.append(raw.sum(dim=1).double().cpu().numpy())
        logits.append(logit.double().cpu().numpy())
        baseline_logits.append(baseline_logit.double().cpu().numpy())
    events = _event_rows(data, IntegratedGradients.name, journeys, scores)
    if not journeys:
        return events, completeness_frame(*(np.empty(0),) * 4, min_gap=min_gap)
    index = np.concatenate(journeys)
    scored = data.lengths[index] > 0
    completeness = completeness_frame(
        data.journey_id[index[scored]],
        *(np.concatenate(parts)[scored] for parts in (sums, logits, baseline_logits)),
        min_gap=min_gap,
    )
    return events, completeness


def integrated_gradients_completeness(
    model: SequenceModel,
    data: SequenceData,
    split: str | None = "test",
    n_steps: int = DEFAULT_IG_STEPS,
    baseline="zeros",
    batch_size: int = 512,
    min_gap: float = 1e-3,
) -> pd.DataFrame:
    """The completeness half of :func:`integrated_gradients_attribution` (one row per journey)."""
    return integrated_gradients_attribution(model, data, split, n_steps, baseline, batch_size, min_gap)[1]


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
    """Per event name: mean score in converted and in not-converted journeys, and its signed mean.

    lift = mean_converted / mean_not_converted (NaN when the latter is 0 or
    absent); n_events counts the event's rows. The unsigned shares say how
    much an event moves the prediction, not which way: an event that lowers
    it gets a large share too. ``mean_signed_score`` (the mean signed_score
    over all the event's rows, when ``event_attr`` has that column) says which
    way: negative when the event lowers the predicted conversion on average.
    Columns: [method,] event, mean_converted, mean_not_converted, lift,
    n_events[, mean_signed_score].
    """
    out = _by_outcome(event_attr, "event")
    if "signed_score" in event_attr.columns:
        keys = [c for c in ("method", "event") if c in out.columns]
        signed = event_attr.groupby(keys, observed=True)["signed_score"].mean().rename("mean_signed_score")
        out = out.join(signed, on=keys)
    return out


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
