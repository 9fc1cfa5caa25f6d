"""Reading the dbt marts the ML assets train on; keys and relations in one place."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
import pandas as pd

from dagster_project.warehouse import Warehouse

# no_funnel is the honest variant; the other two exist to show what leakage does:
# with_funnel keeps funnel events, funnel_excluded_only drops them but does not cut
# at the conversion moment (the seeds' way). Only the honest one can be promoted.
VARIANTS = ("no_funnel", "with_funnel", "funnel_excluded_only")
HONEST_VARIANT = "no_funnel"
LABELS = dg.AssetKey(["marts", "fct_journey_labels"])
STORES = dg.AssetKey(["marts", "dim_stores"])


def sequences_key(variant: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", f"fct_journey_sequences_{variant}"])


def relation(key: dg.AssetKey) -> str:
    """`marts/fct_x` -> `marts.fct_x` (dbt writes each folder to the schema of that name)."""
    return ".".join(key.path)


def read_variant(warehouse: Warehouse, variant: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sequences, labels) of one variant, in the long format of DEVELOPERS.md."""
    sequences = warehouse.read_table(relation(sequences_key(variant)))
    labels = warehouse.read_table(relation(LABELS))
    return sequences, labels


def variant_reader(warehouse: Warehouse) -> Callable[[str], tuple[pd.DataFrame, pd.DataFrame]]:
    """`read_variant`, read once per variant for one asset run: several models share each
    variant's marts (callers must not change the frames in place)."""
    cache: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}

    def read(variant: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        if variant not in cache:
            cache[variant] = read_variant(warehouse, variant)
        return cache[variant]

    return read
