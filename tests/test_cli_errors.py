"""Every way a user's mistake reaches the CLI ends in one line that says what is wrong and what to
do, and exit status 1, never a Python traceback; `--debug` shows the traceback.

The commands run in process (`dagster_project.cli.main`), as the installed `journeylift` does.
(A file without read permission is not walked: tests run as root here, who reads any file; it
takes the same path as a missing one, an OSError with the file's name.)
"""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from dagster_project.cli import main
from ml.data import planted_signal_frames


def _one_line(capsys, argv: list[str]) -> str:
    code = main(argv)
    printed = capsys.readouterr()
    lines = [line for line in printed.err.splitlines() if line.strip()]
    assert code == 1, printed.out + printed.err
    assert "Traceback" not in printed.out + printed.err
    assert len(lines) == 1 and lines[0].startswith(f"journeylift {argv[0]}: "), printed.err
    return lines[0]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEYLIFT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home" / "dagster"))
    for variable in ("JOURNEYLIFT_SOURCE", "JOURNEYLIFT_MODELS", "JOURNEYLIFT_LEAKAGE_GUARD", "JOURNEYLIFT_FIRST_EVENT_DATE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _files(folder):
    (folder / "not_parquet.parquet").write_text("a CSV, really\n1,2\n")
    (folder / "broken.csv").write_text('journey_id,event_at\nj1,"2026-10-01\n')
    (folder / "a_folder.csv").mkdir()
    (folder / "empty.parquet").mkdir()  # pandas reads a folder of no Parquet parts as no rows
    (folder / "events.txt").write_text("event_id\n")
    sequences, _ = planted_signal_frames(n_journeys=5, seed=1)
    sequences.assign(event_at="last tuesday").to_csv(folder / "bad_times.csv", index=False)
    sequences.to_parquet(folder / "ok.parquet")


CHECK_MISTAKES = {
    "missing file": (["check", "missing.parquet"], "no such file or folder: missing.parquet; check the path"),
    "a folder, not a file": (["check", "a_folder.csv"], "a_folder.csv is a folder; give a file"),
    "not Parquet inside": (["check", "not_parquet.parquet"], "not_parquet.parquet is not a readable Parquet file"),
    "malformed CSV": (["check", "broken.csv"], "broken.csv is not a readable CSV file"),
    "no rows": (["check", "empty.parquet"], "empty.parquet holds no rows"),
    "wrong format": (["check", "events.txt"], "is neither a .parquet/.csv file nor warehouse:<schema>.<table>"),
    "times that do not parse": (["check", "bad_times.csv"], "column event_at: not a timestamp"),
    "a mapping that is not old=new": (["check", "ok.parquet", "--columns", "ts"], "--columns 'ts' is not old=new"),
    "labels without journey_id": (["check", "ok.parquet", "--labels", "ok.parquet", "--columns", "journey_id=sid"],
                                  "has no column journey_id"),
    "no warehouse yet": (["check", "warehouse:marts.fct_journey_labels"], "no warehouse at"),
}


@pytest.mark.parametrize("mistake", CHECK_MISTAKES)
def test_check_mistakes_are_one_line(mistake, home, capsys):
    _files(home)
    argv, expected = CHECK_MISTAKES[mistake]
    assert expected in _one_line(capsys, argv)


def test_a_table_missing_from_the_warehouse_is_one_line(home, capsys):
    (home / "home").mkdir()
    duckdb.connect(str(home / "home" / "warehouse.duckdb")).close()
    line = _one_line(capsys, ["check", "warehouse:marts.fct_journey_labels"])
    assert "no table marts.fct_journey_labels in the warehouse" in line


SETTING_MISTAKES = {
    "JOURNEYLIFT_SOURCE": ("/no/such/folder", "is neither `simulator`, `warehouse:<schema>` nor an existing folder"),
    "JOURNEYLIFT_MODELS": ("lstm,nope", "names unknown model families ['nope']"),
    "JOURNEYLIFT_LEAKAGE_GUARD": ("off", "JOURNEYLIFT_LEAKAGE_GUARD must be one of"),
    "JOURNEYLIFT_FIRST_EVENT_DATE": ("October", "is not a date YYYY-MM-DD"),
}


@pytest.mark.parametrize("variable", SETTING_MISTAKES)
def test_a_bad_setting_is_one_line_before_anything_runs(variable, home, capsys, monkeypatch):
    value, expected = SETTING_MISTAKES[variable]
    monkeypatch.setenv(variable, value)
    assert expected in _one_line(capsys, ["run"])
    assert not (home / "home" / "warehouse.duckdb").exists()


def test_other_commands_mistakes_are_one_line(home, capsys):
    assert "/nowhere; check the path" in _one_line(capsys, ["import", "otto", "/nowhere", str(home / "out")])
    assert "is not an event-date partition" in _one_line(capsys, ["backfill", "--start", "2020-01-01", "--end", "2020-01-02"])
    assert "import it with `journeylift import criteo`" in _one_line(capsys, ["compare", "causalmta", str(home)])


def test_a_locked_warehouse_is_one_line(home, capsys):
    path = home / "home" / "warehouse.duckdb"
    path.parent.mkdir()
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}); "
                               "print('held', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        line = _one_line(capsys, ["check", "warehouse:marts.fct_journey_labels"])
    finally:
        holder.kill()
        holder.wait()
    assert f"the warehouse {path} is locked by process {holder.pid}" in line and "then run again" in line


@pytest.mark.parametrize("argv", [["--debug", "check", "missing.parquet"], ["check", "missing.parquet", "--debug"]])
def test_debug_shows_the_traceback(argv, home):
    with pytest.raises(FileNotFoundError):
        main(argv)
    done = subprocess.run([sys.executable, "-m", "dagster_project.cli", *argv], capture_output=True, text=True,
                          cwd=home, timeout=120)
    assert done.returncode == 1 and "Traceback" in done.stderr and "FileNotFoundError" in done.stderr
