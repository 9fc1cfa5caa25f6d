"""Simulated stores: the ``dimension_store`` table and Zipf-like store popularity."""

from __future__ import annotations

import numpy as np
import pandas as pd

# category -> (share of stores, its tags); every non-restaurant is a "new vertical" (is_nv).
_CATEGORIES: dict[str, tuple[float, tuple[str, ...]]] = {
    "Restaurant": (
        0.70,
        ("Pizza", "Sushi", "Burgers", "Mexican", "Chinese", "Indian", "Thai", "Salads", "Breakfast", "Desserts"),
    ),
    "Grocery": (0.12, ("Grocery", "Organic")),
    "Convenience": (0.10, ("Convenience", "Snacks")),
    "Alcohol": (0.04, ("Wine & Spirits",)),
    "Pharmacy": (0.04, ("Pharmacy", "Health")),
}
_NAME_PREFIXES = ("Golden", "Corner", "Happy", "Urban", "Little", "Big", "Fresh", "Blue", "Old Town", "Sunny")


def store_ids(n_stores: int) -> np.ndarray:
    width = max(4, len(str(n_stores)))
    return np.array([f"st{i:0{width}d}" for i in range(1, n_stores + 1)], dtype=object)


def simulate_stores(n_stores: int, rng: np.random.Generator) -> pd.DataFrame:
    """dimension_store: store_id, store_name, primary_tag_name, primary_category_name, is_nv."""
    categories = np.array(list(_CATEGORIES), dtype=object)
    shares = np.array([share for share, _ in _CATEGORIES.values()])
    category = categories[rng.choice(len(categories), size=n_stores, p=shares / shares.sum())]
    tag = np.array([rng.choice(_CATEGORIES[c][1]) for c in category], dtype=object)
    prefix = np.array(_NAME_PREFIXES, dtype=object)[rng.integers(0, len(_NAME_PREFIXES), size=n_stores)]
    ids = store_ids(n_stores)
    # the number keeps names unique and readable ("Golden Pizza 17")
    names = [f"{p} {t} {i}" for p, t, i in zip(prefix, tag, range(1, n_stores + 1))]
    return pd.DataFrame(
        {
            "store_id": pd.array(ids, dtype="str"),
            "store_name": pd.array(names, dtype="str"),
            "primary_tag_name": pd.array(tag, dtype="str"),
            "primary_category_name": pd.array(category, dtype="str"),
            "is_nv": category != "Restaurant",
        }
    )


def store_popularity(n_stores: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Probability of each store (by index) being the one shown: Zipf over a random popularity rank."""
    rank = rng.permutation(n_stores) + 1
    weights = rank.astype(float) ** -exponent
    return weights / weights.sum()
