"""How this process writes the local SQLite stores: the Dagster instance under DAGSTER_HOME and
the MLflow store under JOURNEYLIFT_HOME.

Dagster's SQLite storage opens a connection per write (SQLAlchemy's NullPool) in WAL mode, and
SQLite checkpoints the WAL with two fsyncs whenever the last connection closes: every event of a
run costs an fsync round, about 1.5 ms on this machine. A full-history run writes some 2,300
per-partition events (each dbt model by event date, planned and materialized) twice (the run's
shard and the asset index), so the run spent seconds waiting on the disk. Without the fsync a
write costs about 0.2 ms. What that gives up: after an operating-system crash or a power loss
(not a killed process: the data is in the OS's buffers then) the last writes may be lost or the
file damaged; these are a laptop's run history and experiment store, rebuilt by running again.
JOURNEYLIFT_SQLITE_SYNC=full keeps SQLite's default.
"""

from __future__ import annotations

import os
import sqlite3

SQLITE_SYNC_ENV = "JOURNEYLIFT_SQLITE_SYNC"
SQLITE_SYNC_DEFAULT = "off"
SQLITE_SYNC_VALUES = ("off", "normal", "full")

_installed = False


def sqlite_sync() -> str:
    """PRAGMA synchronous for the local stores, from JOURNEYLIFT_SQLITE_SYNC (default off)."""
    value = os.environ.get(SQLITE_SYNC_ENV, SQLITE_SYNC_DEFAULT).strip().lower()
    if value not in SQLITE_SYNC_VALUES:
        raise SystemExit(f"journeylift: {SQLITE_SYNC_ENV}={value!r} is not one of {', '.join(SQLITE_SYNC_VALUES)}")
    return value


def write_local_sqlite_without_fsync() -> None:
    """Every SQLite connection SQLAlchemy opens in this process from now on (Dagster's storage,
    MLflow's store) runs with PRAGMA synchronous = JOURNEYLIFT_SQLITE_SYNC. Idempotent."""
    global _installed
    sync = sqlite_sync()
    if _installed or sync == "full":
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_connection, _record) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute(f"pragma synchronous = {sync}")

    event.listen(Engine, "connect", on_connect)
    _installed = True
