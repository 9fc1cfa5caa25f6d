"""`journeylift check`: the leakage suites on a user's own table, as a command with an exit code."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
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


# --- a user's own table: the contract's names, a mapping, missing and extra columns (issue 16) ---


def _design_named(folder: Path):
    """The sequences and labels under design.md's names (event_ts, conversion_ts), the labels as
    CSV with offsets: the same moments, written in Berlin summer time."""
    sequences, labels = planted_signal_frames(n_journeys=80, seed=4)
    labels = labels.assign(conversion_at=labels["conversion_at"].dt.tz_localize("UTC").dt.tz_convert("Europe/Berlin"))
    return sequences.rename(columns={"event_at": "event_ts"}), labels.rename(columns={"conversion_at": "conversion_ts"})


def test_the_contracts_names_are_understood_and_the_temporal_rule_runs(tmp_path):
    sequences, labels = _design_named(tmp_path)
    labels.to_csv(tmp_path / "my_labels.csv", index=False)
    sequences.to_parquet(tmp_path / "my_sequences.parquet")
    done = _check(tmp_path / "my_sequences.parquet", "--labels", tmp_path / "my_labels.csv")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "temporal check skipped" not in done.stdout
    # an event after its journey's conversion (read from +02:00 text as UTC) fails the temporal rule
    converted = labels[labels["converted"]].iloc[0]
    late = sequences[sequences["journey_id"] == converted["journey_id"]].iloc[[0]].assign(
        event_id="late-1", position=999,
        event_ts=converted["conversion_ts"].tz_convert("UTC").tz_localize(None) + pd.Timedelta(minutes=1))
    pd.concat([sequences, late]).to_parquet(tmp_path / "late.parquet")
    done = _check(tmp_path / "late.parquet", "--labels", tmp_path / "my_labels.csv")
    assert done.returncode == 1, done.stdout + done.stderr
    assert any("conversion moment" in line and "late-1" in line for line in done.stdout.splitlines())


def test_a_mapping_names_the_users_own_columns(tmp_path):
    sequences, labels = planted_signal_frames(n_journeys=80, seed=4)
    sequences.rename(columns={"journey_id": "sid", "event_at": "ts"}).to_parquet(tmp_path / "mine.parquet")
    labels.rename(columns={"journey_id": "sid"}).to_parquet(tmp_path / "labels.parquet")
    done = _check(tmp_path / "mine.parquet", "--labels", tmp_path / "labels.parquet")
    assert done.returncode == 1 and "no column journey_id" in done.stderr and "Traceback" not in done.stderr
    done = _check(tmp_path / "mine.parquet", "--labels", tmp_path / "labels.parquet", "--columns", "sid=journey_id,ts=event_at")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "clean" in done.stdout and "missing column" not in done.stdout


def test_a_missing_column_is_named_missing_not_failed_as_a_broken_rule(files, tmp_path):
    sequences, _ = planted_signal_frames(n_journeys=80, seed=4)
    sequences.drop(columns=["event_id"]).to_parquet(tmp_path / "no_ids.parquet")
    done = _check(tmp_path / "no_ids.parquet", "--labels", files / "labels.csv")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "note: missing column event_id: not checked for duplicate event" in done.stdout
    assert "FAIL" not in done.stdout
    strict = _check(tmp_path / "no_ids.parquet", "--labels", files / "labels.csv", "--strict")
    assert strict.returncode == 1 and "FAIL missing column" in strict.stdout


@pytest.mark.parametrize(
    "column, values, fails",
    [
        ("device", lambda s, l: "ios", False),  # unknown: a warning (an error with --strict)
        ("order_id", lambda s, l: "o-1", True),  # label-like by name: always an error
        # predicts the label on its own: always an error
        ("basket_value", lambda s, l: s["journey_id"].map(l.set_index("journey_id")["converted"]) * 42.0, True),
    ],
)
def test_extra_columns_unknown_warn_label_like_or_predictive_fail(column, values, fails, files, tmp_path):
    sequences, labels = planted_signal_frames(n_journeys=80, seed=4)
    sequences.assign(**{column: values(sequences, labels)}).to_parquet(tmp_path / "extra.parquet")
    done = _check(tmp_path / "extra.parquet", "--labels", files / "labels.csv")
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAIL") and column in line]
    if fails:
        assert done.returncode == 1 and failed, done.stdout
    else:
        assert done.returncode == 0 and not failed, done.stdout
        assert f"note: unknown column {column}" in done.stdout
        strict = _check(tmp_path / "extra.parquet", "--labels", files / "labels.csv", "--strict")
        assert strict.returncode == 1 and "unknown column (not a feature column of the contract; --strict): " in strict.stdout
