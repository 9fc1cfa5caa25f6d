"""The embedded DuckDB warehouse: a small resource to read marts and write output tables.

Connections are opened per call and closed at once: dbt runs in a subprocess
against the same file, and DuckDB lets only one process write it at a time.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from dagster_project.settings import warehouse_path


class Warehouse(dg.ConfigurableResource):
    """DuckDB file under JOURNEYLIFT_HOME unless `path` is given."""

    path: str | None = None

    def resolved_path(self) -> Path:
        return Path(self.path) if self.path else warehouse_path()

    @contextmanager
    def connect(self, read_only: bool = False):
        path = self.resolved_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    def read_table(self, relation: str, columns: str = "*") -> pd.DataFrame:
        with self.connect(read_only=True) as con:
            return con.sql(f"select {columns} from {relation}").df()

    def drop_tables(self, schema: str, tables) -> None:
        """Drop `schema.<table>` for each of `tables` where it exists (a stale table of another source)."""
        with self.connect() as con:
            for table in tables:
                con.sql(f"drop table if exists {schema}.{table}")

    def write_table(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        """Replace `schema.table` with `frame` (the latest materialization wins)."""
        with self.connect() as con:
            con.sql(f"create schema if not exists {schema}")
            con.register("frame_to_write", frame)
            con.sql(f"create or replace table {schema}.{table} as select * from frame_to_write")
            con.unregister("frame_to_write")
