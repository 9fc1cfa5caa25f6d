"""Journey embeddings: what each model classifies from, for every journey."""

import dagster as dg
import numpy as np
import pandas as pd

from dagster_project.defs.ml.evaluation import MODEL_INS, tag_rows
from dagster_project.marts import variant_reader
from dagster_project.settings import OUTPUT_SCHEMA, outputs_dir
from dagster_project.trained import TrainedJourneyModel
from dagster_project.warehouse import Warehouse
from ml.evaluation import journey_embeddings as embed_journeys


@dg.asset(key=[OUTPUT_SCHEMA, "journey_embeddings"], ins=MODEL_INS, group_name="evaluation")
def journey_embeddings(context: dg.AssetExecutionContext, warehouse: Warehouse, **models: TrainedJourneyModel):
    """run_id, model, variant, journey_id, embedding (a FLOAT[] vector): the last hidden state,
    CLS output, pooled vector or latent mean of every journey, so analysts can cluster and
    profile journeys. Written as a warehouse table and as Parquet (vectors do not fit a CSV)."""
    frames = []
    read = variant_reader(warehouse)
    for trained in models.values():
        sequences, labels = read(trained.variant)
        vectors = embed_journeys(trained.model, trained.sequence_data(sequences, labels))
        frames.append(tag_rows(vectors[["journey_id", "embedding"]], context.run_id, trained))
    frame = pd.concat(frames, ignore_index=True)
    frame["embedding"] = [np.asarray(v, dtype=np.float32) for v in frame["embedding"]]
    warehouse.write_table(OUTPUT_SCHEMA, "journey_embeddings", frame)
    path = outputs_dir() / "journey_embeddings.parquet"
    frame.to_parquet(path, index=False)
    sizes = frame.groupby(["model", "variant"])["embedding"].first().map(len)
    return dg.MaterializeResult(
        metadata={
            "rows": len(frame),
            "table": f"{OUTPUT_SCHEMA}.journey_embeddings",
            "parquet": dg.MetadataValue.path(str(path)),
            "dimensions": dg.MetadataValue.md(sizes.rename("dimensions").reset_index().to_markdown(index=False)),
        }
    )
