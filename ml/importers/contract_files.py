"""Writing raw contract files (ml.contract, design.md's raw contract), one Parquet file per table.

Timestamps are written as naive UTC, text columns as strings; the columns are exactly the
contract's required ones plus the optional ones the importer produced.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ml.contract import CONTRACT_TABLES, TEXT, TIMESTAMP


def write_contract_table(frame: pd.DataFrame, out: Path, table: str) -> int:
    """Write ``frame`` as ``out/<table>.parquet`` with exactly the contract's columns (and the
    optional ones it has); return its rows.

    A stale CSV of the same table is removed: the folder source refuses two files for one table.
    """
    contract = CONTRACT_TABLES[table]
    missing = [c for c in contract.columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table}: the importer produced no column(s) {missing}")
    columns = [c for c in contract.rules if c in frame.columns]
    typed = frame[columns].copy()
    for column in columns:
        if contract.rules[column] == TEXT:
            typed[column] = typed[column].astype("string")
        elif contract.rules[column] == TIMESTAMP:
            typed[column] = pd.to_datetime(typed[column]).astype("datetime64[us]")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{table}.csv").unlink(missing_ok=True)
    typed.to_parquet(out / f"{table}.parquet", index=False)
    return len(typed)
