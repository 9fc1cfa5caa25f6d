"""Customer traits: users described by the clusters of the action_item tokens they touch.

From a trained ``item2vec`` model: cluster the skip-gram token vectors, count
each user's events per cluster, and factorize that count matrix with NMF. Each
NMF component is a trait, read through its top tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import NMF

from ml.data import SequenceData
from ml.models.item2vec import Item2VecClassifier

TRAIT_COLUMNS = ["trait", "rank", "token", "weight", "cluster"]


@dataclass
class CustomerTraits:
    """What :func:`customer_traits` finds.

    traits: one row per (trait, top token): trait, rank (1 = heaviest), token
        (``event_store``), weight, cluster (the token's embedding cluster).
    user_traits: the user x trait matrix W (index user_id, one column per
        trait), each user's loading on each trait.
    token_clusters: token_id, token, cluster, n_events for every clustered token.
    """

    traits: pd.DataFrame
    user_traits: pd.DataFrame
    token_clusters: pd.DataFrame


def customer_traits(
    model: Item2VecClassifier,
    data: SequenceData,
    n_clusters: int = 8,
    n_traits: int = 4,
    top_tokens: int = 10,
    users: pd.DataFrame | None = None,
    seed: int = 0,
) -> CustomerTraits:
    """Traits of the users of ``data`` from ``model``'s skip-gram token vectors.

    1. Tokens: every action_item token seen in pre-training, represented by its
       skip-gram vector u_i / |u_i| (cosine geometry, as Item2Vec compares items);
       k-means puts them in ``n_clusters`` clusters c(i).
    2. Counts: X[user, c] = number of the user's events (all journeys of
       ``data``) whose token falls in cluster c; tokens never seen in
       pre-training are left out.
    3. NMF: X ~ W H with W [users x n_traits] >= 0 and H [n_traits x clusters] >= 0.
       Traits are numbered by total loading sum_u W[u, r], largest first.
    4. Token weight in trait r: H[r, c(i)] * n_i / n_c(i), the cluster's loading
       shared among its tokens by their event counts (the expected count of
       token i per unit of trait r); the ``top_tokens`` heaviest are listed.

    Users come from ``users`` (journey_id, user_id) when given, else from
    ``data.labels_frame``. ``seed`` fixes k-means and NMF.
    """
    if not isinstance(model, Item2VecClassifier):
        raise TypeError(f"customer traits need an item2vec model, not {type(model).__name__}")
    counts_seen = model.token_counts.cpu().numpy()
    token_ids = np.flatnonzero(counts_seen > 0)
    if len(token_ids) == 0:
        raise ValueError("the item2vec model has no skip-gram vectors: pre-train it first (train_model does)")

    cluster_of_token = _cluster_tokens(model.skipgram_vectors.detach().cpu()[token_ids], n_clusters, seed)
    n_clusters = int(cluster_of_token.max()) + 1
    cluster_of = np.full(model.embedding.n_tokens, -1, dtype=np.int64)
    cluster_of[token_ids] = cluster_of_token

    user_codes, user_ids = _event_users(data, users)
    event_tokens = model.embedding.token_ids(data.categorical).astype(np.int64)
    event_clusters = cluster_of[event_tokens]
    known = event_clusters >= 0
    n_users = len(user_ids)
    counts = np.bincount(
        user_codes[known] * n_clusters + event_clusters[known], minlength=n_users * n_clusters
    ).reshape(n_users, n_clusters).astype(np.float64)

    n_traits = min(n_traits, n_clusters, max(n_users, 1))
    nmf = NMF(n_components=n_traits, init="nndsvda", random_state=seed, max_iter=1000)
    loadings = nmf.fit_transform(counts)
    components = nmf.components_
    order = np.argsort(-loadings.sum(axis=0), kind="stable")
    loadings, components = loadings[:, order], components[order]

    token_events = np.bincount(event_tokens[known], minlength=model.embedding.n_tokens)[token_ids]
    cluster_events = np.bincount(cluster_of_token, weights=token_events, minlength=n_clusters)
    token_share = token_events / np.maximum(cluster_events[cluster_of_token], 1)
    names = model.embedding.token_names(data.vocabularies, token_ids)
    token_clusters = pd.DataFrame(
        {"token_id": token_ids, "token": names, "cluster": cluster_of_token, "n_events": token_events}
    )
    return CustomerTraits(
        traits=_top_tokens(components[:, cluster_of_token] * token_share, names, cluster_of_token, top_tokens),
        user_traits=pd.DataFrame(loadings, index=pd.Index(user_ids, name="user_id"), columns=range(n_traits)),
        token_clusters=token_clusters,
    )


def _cluster_tokens(vectors: torch.Tensor, n_clusters: int, seed: int) -> np.ndarray:
    """k-means cluster of each (unit-normalised) token vector; k at most the number of tokens."""
    unit = torch.nn.functional.normalize(vectors.float(), dim=1).numpy().astype(np.float64)
    k = max(1, min(n_clusters, len(unit)))
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(unit).astype(np.int64)


def _event_users(data: SequenceData, users: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """(user code of every event row of ``data``, user ids in code order)."""
    source = data.labels_frame if users is None else users
    if source is None or "user_id" not in source.columns:
        raise ValueError(
            "no user_id per journey: pass users=<frame with journey_id, user_id> (e.g. the labels mart)"
        )
    user_of = source.drop_duplicates("journey_id").set_index("journey_id")["user_id"]
    journey_users = user_of.reindex(pd.Index(data.journey_id, dtype=object))
    if journey_users.isna().any():
        missing = list(data.journey_id[journey_users.isna().to_numpy()][:5])
        raise KeyError(f"journeys without a user_id: {missing}")
    codes, user_ids = pd.factorize(journey_users.astype(str), sort=True)
    return np.repeat(codes.astype(np.int64), data.lengths), np.asarray(user_ids, dtype=object)


def _top_tokens(weights: np.ndarray, names: list[str], clusters: np.ndarray, top: int) -> pd.DataFrame:
    """The ``top`` heaviest tokens with a positive weight per trait (row of ``weights``)."""
    rows = []
    for trait, row in enumerate(weights):
        ranked = np.argsort(-row, kind="stable")[:top]
        ranked = ranked[row[ranked] > 0]
        rows.append(
            pd.DataFrame(
                {
                    "trait": trait,
                    "rank": np.arange(1, len(ranked) + 1),
                    "token": [names[i] for i in ranked],
                    "weight": row[ranked],
                    "cluster": clusters[ranked],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)[TRAIT_COLUMNS] if rows else pd.DataFrame(columns=TRAIT_COLUMNS)
