"""Many edited copies of the same journeys, re-predicted in one pass.

Counterfactual interventions, ad swaps and the deletion and insertion curves each ask the model
about many edits of the same journeys. Building tensors and predicting once per edit spends most
of its time on the fixed cost of each call; here every edit's journeys are stacked into one
SequenceData (a journey keyed by its edit's number and its own id, so the same journey edited two
ways is two journeys), predicted in length-sorted batches, and split back. A journey's
prediction does not depend on the other journeys of its batch (padding is masked), so the
numbers are those of one call per edit, to float rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ml.data import SequenceData, build_sequence_data
from ml.evaluation.metrics import predict_proba
from ml.models import SequenceModel

# Stacked events per pass: bounds the memory of one SequenceData at any scale.
MAX_ROWS_PER_PASS = 2_000_000
_SEP = "\x1f"


def predict_edited(
    model: SequenceModel,
    data: SequenceData,
    edits: Sequence[tuple[pd.DataFrame, np.ndarray]],
    batch_size: int = 1024,
    max_rows: int = MAX_ROWS_PER_PASS,
) -> list[np.ndarray]:
    """p(convert) of each edit's journeys, in the order of its journey ids.

    edits: (events, journey_ids) per edit: the edited events of those journeys (a sequences
    frame, re-ranked as the mart would be) and the journeys to predict, in order (a journey
    without events left is predicted from no events). ``data`` gives the vocabularies, labels and
    max_len.
    """
    results: list[np.ndarray | None] = [None] * len(edits)
    chunk: list[int] = []
    rows = 0
    for number, (events, _) in enumerate(edits):
        if chunk and rows + len(events) > max_rows:
            _predict_chunk(model, data, edits, chunk, results, batch_size)
            chunk, rows = [], 0
        chunk.append(number)
        rows += len(events)
    if chunk:
        _predict_chunk(model, data, edits, chunk, results, batch_size)
    return results


def _predict_chunk(model, data, edits, chunk, results, batch_size) -> None:
    frames, ids, originals, sizes = [], [], [], []
    for number in chunk:
        events, journeys = edits[number]
        journeys = np.asarray(journeys, dtype=object)
        prefix = f"{number}{_SEP}"
        frames.append(events.assign(journey_id=prefix + events["journey_id"].astype(str)))
        ids.append(np.array([prefix + str(j) for j in journeys], dtype=object))
        originals.append(journeys)
        sizes.append(len(journeys))
    ids, originals = np.concatenate(ids), np.concatenate(originals)
    labels = data.labels_frame.set_index("journey_id").reindex(originals).reset_index(drop=True).assign(journey_id=ids)
    stacked = build_sequence_data(pd.concat(frames, ignore_index=True), labels, max_len=data.max_len,
                                  vocabularies=data.vocabularies, journey_ids=ids)
    probabilities = predict_proba(model, stacked, None, batch_size)
    for number, part in zip(chunk, np.split(probabilities, np.cumsum(sizes)[:-1])):
        results[number] = part
