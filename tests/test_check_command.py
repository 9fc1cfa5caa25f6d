"""`journeylift check`: the leakage suites on a user's own table, as a command with an exit code."""

import subprocess
import sys
from pathlib import Path

import pytest

from ml.data import planted_signal_frames

LEAKS = {
    "funnel event (by event name)": lambda s: s.assign(event=s["event"].where(s.index != 3, "checkout_page_load")),
    "label-derived column": lambda s: s.assign(is_converted=False),
    "duplicate event": lambda s: s.assign(event_id=s["event_id"].where(s.index != 1, s["event_id"].iloc[0])),
}


def _check(*args) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "journeylift"), "check", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("check")
    sequences, labels = planted_signal_frames(n_journeys=80, seed=4)
    sequences.to_parquet(folder / "clean.parquet")
    labels.to_csv(folder / "labels.csv", index=False)
    for name, inject in LEAKS.items():
        inject(sequences).to_parquet(folder / f"{name}.parquet")
    return folder


def test_clean_table_exits_zero(files):
    done = _check(files / "clean.parquet", "--labels", files / "labels.csv")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "clean" in done.stdout and "FAIL" not in done.stdout


@pytest.mark.parametrize("leak", LEAKS)
def test_each_leak_exits_non_zero_and_prints_the_example(leak, files):
    done = _check(files / f"{leak}.parquet", "--labels", files / "labels.csv")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("FAIL") and leak in line]
    assert lines and ("example row:" in lines[0] or "observed:" in lines[0])


def test_without_labels_it_says_what_it_skipped(files):
    done = _check(files / "clean.parquet")
    assert done.returncode == 0
    assert "temporal check skipped" in done.stdout
