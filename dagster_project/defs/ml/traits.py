"""Customer traits from Item2Vec's action_item embeddings (when item2vec is trained)."""

import dagster as dg

from dagster_project.defs.ml.training import model_key
from dagster_project.marts import HONEST_VARIANT, LABELS, read_variant
from dagster_project.outputs import publish_table
from dagster_project.settings import OUTPUT_SCHEMA, model_families
from dagster_project.trained import TrainedJourneyModel
from dagster_project.warehouse import Warehouse
from ml.traits import customer_traits as find_traits


class TraitsConfig(dg.Config):
    n_clusters: int = 8
    n_traits: int = 4
    top_tokens: int = 10
    seed: int = 0


def build_traits_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=[OUTPUT_SCHEMA, "customer_traits"],
        ins={"item2vec": dg.AssetIn(key=model_key("item2vec", HONEST_VARIANT))},
        deps=[LABELS],
        group_name="evaluation",
    )
    def customer_traits(
        context: dg.AssetExecutionContext, config: TraitsConfig, warehouse: Warehouse, item2vec: TrainedJourneyModel
    ):
        """Interpretable customer traits: Item2Vec's token vectors clustered (k-means), each user's
        events counted per cluster, that user x cluster matrix factorized by NMF; one row per trait
        and top token (`event_store`) with its weight."""
        sequences, labels = read_variant(warehouse, HONEST_VARIANT)
        found = find_traits(
            item2vec.model, item2vec.sequence_data(sequences, labels), n_clusters=config.n_clusters,
            n_traits=config.n_traits, top_tokens=config.top_tokens, users=labels, seed=config.seed,
        )
        table = found.traits.assign(run_id=context.run_id)
        return dg.MaterializeResult(metadata=publish_table(warehouse, "customer_traits", table, preview_rows=20))

    return customer_traits


traits_assets = [build_traits_asset()] if "item2vec" in model_families() else []
