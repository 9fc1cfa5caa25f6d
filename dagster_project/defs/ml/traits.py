"""Customer traits from Item2Vec's action_item embeddings (when item2vec is trained)."""

import dagster as dg
import pandas as pd

from dagster_project.defs.dbt.assets import LABELS_MODEL, dbt_model_key
from dagster_project.defs.ml.training import model_key, tensors_key
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.warehouse import WAREHOUSE_POOL
from ml.data import HONEST_VARIANT, SequenceData
from ml.training import TrainedModel
from ml.traits import customer_traits as find_traits


class TraitsConfig(dg.Config):
    n_clusters: int = 8
    n_traits: int = 4
    top_tokens: int = 10
    seed: int = 0


@dg.asset(
    pool=WAREHOUSE_POOL,
    key=[OUTPUT_SCHEMA, "customer_traits"],
    ins={
        "item2vec": dg.AssetIn(model_key("item2vec", HONEST_VARIANT)),
        "data": dg.AssetIn(tensors_key(HONEST_VARIANT)),
        "labels": dg.AssetIn(dbt_model_key(LABELS_MODEL)),
    },
    group_name="evaluation",
    metadata={"preview_rows": 20},
)
def customer_traits(
    context: dg.AssetExecutionContext, config: TraitsConfig, item2vec: TrainedModel, data: SequenceData,
    labels: pd.DataFrame,
) -> pd.DataFrame:
    """Interpretable customer traits: Item2Vec's token vectors clustered (k-means), each user's
    events counted per cluster, that user x cluster matrix factorized by NMF; one row per trait
    and top token (`event_store`) with its weight."""
    found = find_traits(
        item2vec.model, data, n_clusters=config.n_clusters, n_traits=config.n_traits,
        top_tokens=config.top_tokens, users=labels, seed=config.seed,
    )
    return found.traits.assign(run_id=context.run_id)
