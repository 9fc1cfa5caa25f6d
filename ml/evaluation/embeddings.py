"""Journey embeddings: the vector each model classifies from, for every journey."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ml.data import SequenceData, journey_loader
from ml.models import SequenceModel


@torch.no_grad()
def journey_embeddings(
    model: SequenceModel, data: SequenceData, split: str | None = None, batch_size: int = 1024
) -> pd.DataFrame:
    """One row per journey of ``split`` (all when None): journey_id, split, embedding.

    ``embedding`` is ``model.representation(batch)`` — the last hidden state, the CLS
    output, the pooled vector or the latent mean, whatever the family's head reads —
    as a float32 array, so analysts can cluster and profile journeys.
    """
    journeys = data.indices(split)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    index_parts, vector_parts = [], []
    try:
        for batch in journey_loader(data, journeys, batch_size=batch_size, shuffle=False):
            vector_parts.append(model.representation(batch.to(device)).float().cpu().numpy())
            index_parts.append(batch.index.numpy())
    finally:
        model.train(was_training)
    if not index_parts:
        return pd.DataFrame(columns=["journey_id", "split", "embedding"])
    index = np.concatenate(index_parts)
    vectors = np.concatenate(vector_parts)
    order = np.argsort(index, kind="stable")
    index = index[order]
    return pd.DataFrame(
        {
            "journey_id": data.journey_id[index],
            "split": data.split[index],
            "embedding": list(vectors[order]),
        }
    )
