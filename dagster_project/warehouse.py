"""The embedded DuckDB warehouse, and the I/O manager through which assets hand tables to each other.

An asset keyed `[schema, table]` is the warehouse table `schema.table`: an asset that returns a
frame has it written there by `WarehouseIOManager` (and, in the `journeylift` output schema,
copied under outputs/), and an asset that takes it as an input reads it from there, so the graph
the UI draws is the reads that happen. dbt's models are read the same way (their assets name
this I/O manager). An input may ask for some columns only: `AssetIn(metadata={"columns": [...]})`.

A partitioned asset's output whose definition metadata names a `partition_expr` (a timestamp
column, as dagster-duckdb's I/O managers do) replaces only the rows of its run's dates; over every
partition it replaces the whole table.

Connections are opened per call and closed at once: dbt runs in a subprocess against the same
file, and DuckDB lets only one process write it at a time. Inside Dagster every asset that
writes the file runs in the pool WAREHOUSE_POOL (one slot in `make dev`'s instance), so two runs
queue instead of colliding; a process outside Dagster that holds the file (a notebook) makes
`connect` raise WarehouseLocked, one line that says who holds it.
"""

import re
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster._core.storage.fs_io_manager import PickledObjectFilesystemIOManager  # its dump, made whole
import duckdb
import numpy as np
import pandas as pd

from dagster_project.partitions import covers_every_partition
from dagster_project.settings import OUTPUT_SCHEMA, outputs_dir, warehouse_path
from ml.written_files import written_whole

WAREHOUSE_IO = "io_manager"  # the default I/O manager: tables
MODEL_IO = "model_io_manager"  # pickled Python objects: trained models and their tensors
PREVIEW_ROWS = 10
# outputs/: a table of more rows is written as Parquet, with a CSV sample of its first rows.
CSV_MAX_ROWS = 100_000
CSV_SAMPLE_ROWS = 1_000
WAREHOUSE_POOL = "duckdb"  # the Dagster concurrency pool of every asset that writes the warehouse
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class WarehouseLocked(Exception):
    """Another process holds the warehouse file; the message is one line that says what to do."""

    def __init__(self, path: Path, error: Exception):
        holder = _LOCK_HOLDER.search(str(error))
        who = f"process {holder['pid']} ({holder['program']})" if holder else "another process"
        super().__init__(
            f"the warehouse {path} is locked by {who}: close that connection (a notebook's "
            f"duckdb.connect, a DuckDB shell) or wait for it to finish, then run again"
        )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Warehouse(dg.ConfigurableResource):
    """DuckDB file under JOURNEYLIFT_HOME unless `path` is given."""

    path: str | None = None

    def resolved_path(self) -> Path:
        return Path(self.path) if self.path else warehouse_path()

    @contextmanager
    def connect(self, read_only: bool = False):
        path = self.resolved_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            if "Could not set lock" not in str(error):
                raise
            raise WarehouseLocked(path, error) from None
        try:
            yield con
        finally:
            con.close()

    def ensure_writable(self, wait_seconds: float = 0.0) -> None:
        """Raise WarehouseLocked when another process holds the file (before dbt starts, whose own
        error would be a page of log), after waiting up to `wait_seconds` for it to let go (another
        run's step holds it for seconds at a time; a notebook holds it until closed)."""
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                with self.connect():
                    return
            except WarehouseLocked:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)

    def read_table(self, schema: str, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """`schema.table` (only `columns`, when given) as a frame."""
        selected = ", ".join(_quoted(c) for c in columns) if columns else "*"
        with self.connect(read_only=True) as con:
            return con.sql(f"select {selected} from {_quoted(schema)}.{_quoted(table)}").df()

    def table_exists(self, schema: str, table: str) -> bool:
        with self.connect(read_only=True) as con:
            return con.execute(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchall()[0][0] > 0

    def relation_facts(self, relations) -> dict[tuple[str, str], tuple[int, list[tuple[str, str]]]]:
        """(schema, table) -> (row count, [(column, type)]) for each of `relations` that exists
        (tables and views), over one read-only connection."""
        facts = {}
        with self.connect(read_only=True) as con:
            for schema, table in relations:
                columns = con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position", [schema, table],
                ).fetchall()
                if columns:
                    rows = con.sql(f"select count(*) from {_quoted(schema)}.{_quoted(table)}").fetchall()[0][0]
                    facts[(schema, table)] = (int(rows), [(str(c), str(t)) for c, t in columns])
        return facts

    def drop_tables(self, schema: str, tables) -> None:
        """Drop `schema.<table>` for each of `tables` where it exists (a stale table of another source)."""
        with self.connect() as con:
            for table in tables:
                con.sql(f"drop table if exists {_quoted(schema)}.{_quoted(table)}")

    def write_table(self, schema: str, table: str, frame: pd.DataFrame) -> None:
        """Replace `schema.table` with `frame` in one statement: a reader sees the old table or the
        new one, never half of it."""
        with self.connect() as con:
            con.sql(f"create schema if not exists {_quoted(schema)}")
            con.register("frame_to_write", frame)
            con.sql(f"create or replace table {_quoted(schema)}.{_quoted(table)} as select * from frame_to_write")
            con.unregister("frame_to_write")

    def replace_rows(self, schema: str, table: str, frame: pd.DataFrame, column: str, start, end) -> None:
        """Rows of `schema.table` with `column` in [start, end) become `frame` (the table is created
        when absent), in one transaction: re-writing the same dates changes no row."""
        if not self.table_exists(schema, table):
            return self.write_table(schema, table, frame)
        with self.connect() as con:
            relation = f"{_quoted(schema)}.{_quoted(table)}"
            con.register("frame_to_write", frame)
            con.begin()
            con.execute(f"delete from {relation} where {_quoted(column)} >= ? and {_quoted(column)} < ?", [start, end])
            con.sql(f"insert into {relation} by name select * from frame_to_write")
            con.commit()
            con.unregister("frame_to_write")


def holds_vectors(frame: pd.DataFrame) -> bool:
    """True when a column holds arrays (embeddings): such a table is copied as Parquet, not CSV."""
    return any(
        frame[column].dtype == object and frame[column].map(lambda v: isinstance(v, (list, np.ndarray))).any()
        for column in frame.columns
    )


def output_file(name: str, frame: pd.DataFrame, parquet: bool = False) -> Path:
    """The output table's file copy, written whole or not at all: outputs/<name>.csv for a table
    of at most CSV_MAX_ROWS rows; a larger one (per-event and per-journey tables), a table of
    vectors (embeddings) or one asked for as Parquet goes to outputs/<name>.parquet, with its first
    CSV_SAMPLE_ROWS rows as outputs/<name>.sample.csv to open in a spreadsheet. The other format's
    files of the same name are removed, so outputs/ never holds a stale copy."""
    vectors = holds_vectors(frame)
    parquet = parquet or len(frame) > CSV_MAX_ROWS or vectors
    path = outputs_dir() / f"{name}.{'parquet' if parquet else 'csv'}"
    sample = outputs_dir() / f"{name}.sample.csv"
    with written_whole(path) as partial:  # a killed run leaves the previous file, never half of one
        if parquet:
            frame.to_parquet(partial, index=False)
        else:
            frame.to_csv(partial, index=False)
    if parquet and not vectors:
        with written_whole(sample) as partial:
            frame.head(CSV_SAMPLE_ROWS).to_csv(partial, index=False)
    else:
        sample.unlink(missing_ok=True)
    path.with_suffix(".csv" if parquet else ".parquet").unlink(missing_ok=True)
    return path


def table_metadata(frame: pd.DataFrame, relation: str, preview_rows: int = PREVIEW_ROWS) -> dict:
    """What a person reads on a table's materialization: rows, the relation, its columns, a preview."""
    return {
        "dagster/row_count": len(frame),
        "dagster/table_name": relation,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(str(name), str(dtype)) for name, dtype in frame.dtypes.items()]
        ),
        "preview": dg.MetadataValue.md(frame.head(preview_rows).to_markdown(index=False)),
    }


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Asset `[schema, table]` <-> warehouse table `schema.table`; output tables (schema
    `journeylift`) are also copied to outputs/ (`output_file`; as Parquet when the definition
    metadata says `file_format: parquet`). An output's definition metadata `preview_rows` sets
    the preview's length; an input's `columns` selects columns."""

    warehouse: dg.ResourceDependency[Warehouse]

    @staticmethod
    def _relation(key: dg.AssetKey) -> tuple[str, str]:
        if len(key.path) != 2:
            raise ValueError(f"asset {key.to_user_string()} is not keyed [schema, table]")
        return key.path[0], key.path[1]

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        schema, table = self._relation(context.asset_key)
        partition_expr = (context.definition_metadata or {}).get("partition_expr")
        if partition_expr and context.has_asset_partitions and not covers_every_partition(
            context.asset_partitions_def, context.asset_partition_key_range
        ):
            start, end = (t.replace(tzinfo=None) for t in context.asset_partitions_time_window)
            self.warehouse.replace_rows(schema, table, obj, partition_expr, start, end)
        else:
            self.warehouse.write_table(schema, table, obj)
        preview_rows = int((context.definition_metadata or {}).get("preview_rows", PREVIEW_ROWS))
        metadata = table_metadata(obj, f"{schema}.{table}", preview_rows)
        if schema == OUTPUT_SCHEMA:
            parquet = (context.definition_metadata or {}).get("file_format") == "parquet"
            metadata["file"] = dg.MetadataValue.path(str(output_file(table, obj, parquet)))
        context.add_output_metadata(metadata)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        schema, table = self._relation(context.asset_key)
        return self.warehouse.read_table(schema, table, (context.definition_metadata or {}).get("columns"))


class WholePickles(PickledObjectFilesystemIOManager):
    """Dagster's pickling I/O manager, each pickle written beside its path and swapped in: a run
    killed while pickling a model leaves the previous pickle, never a truncated one."""

    def dump_to_path(self, context: dg.OutputContext, obj, path) -> None:
        with written_whole(Path(path)) as partial:
            super().dump_to_path(context, obj, type(path)(partial))


class ModelIOManager(dg.FilesystemIOManager):
    """Trained models and their tensors, pickled under the Dagster instance's storage (or
    `base_dir`), written whole or not at all."""

    def create_io_manager(self, context: dg.InitResourceContext) -> WholePickles:
        return WholePickles(base_dir=self.base_dir or context.instance.storage_directory())
