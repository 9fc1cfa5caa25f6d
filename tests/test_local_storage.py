"""The local SQLite stores (Dagster's instance, MLflow's store) are written without an fsync per
event unless JOURNEYLIFT_SQLITE_SYNC asks for one (dagster_project/local_storage.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dagster_project.local_storage import SQLITE_SYNC_ENV, sqlite_sync

SYNC_OF_A_DAGSTER_INSTANCE = """
import sys, dagster as dg
from dagster_project.local_storage import write_local_sqlite_without_fsync
write_local_sqlite_without_fsync()
with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
    storage = instance.event_log_storage
    with storage.index_connection() as connection:
        print(connection.exec_driver_sql("pragma synchronous").scalar())
"""


def synchronous_of_a_new_instance(tmp_path, env_value: str | None, monkeypatch) -> int:
    """PRAGMA synchronous on the event-log index of a fresh Dagster instance, in a fresh process
    (the setting is process-wide once made)."""
    home = tmp_path / f"dagster-{env_value}"
    home.mkdir()
    if env_value is None:
        monkeypatch.delenv(SQLITE_SYNC_ENV, raising=False)
    else:
        monkeypatch.setenv(SQLITE_SYNC_ENV, env_value)
    out = subprocess.run([sys.executable, "-c", SYNC_OF_A_DAGSTER_INSTANCE, str(home)],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def test_the_dagster_instance_writes_without_fsync_by_default_and_with_it_when_asked(tmp_path, monkeypatch):
    assert synchronous_of_a_new_instance(tmp_path, None, monkeypatch) == 0  # OFF
    assert synchronous_of_a_new_instance(tmp_path, "full", monkeypatch) == 2  # SQLite's default, FULL


def test_an_unknown_sync_value_is_one_line(monkeypatch):
    monkeypatch.setenv(SQLITE_SYNC_ENV, "sometimes")
    with pytest.raises(SystemExit, match="JOURNEYLIFT_SQLITE_SYNC='sometimes' is not one of off, normal, full"):
        sqlite_sync()
