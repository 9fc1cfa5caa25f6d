"""The GX leakage suites on frames: a clean table passes; each injected leak fails and names
itself, the table, and an example row."""

import pandas as pd
import pytest

from dagster_project.defs.quality.leakage_guard import guard_parameters
from expectations import leakage_guard
from ml.data import planted_signal_frames

TABLE = "marts.fct_journey_sequences_no_funnel"


@pytest.fixture(scope="module")
def clean():
    """A no_funnel-shaped table with each journey's conversion_at joined on, and its labels."""
    sequences, labels = planted_signal_frames(n_journeys=120, seed=2)
    audit = sequences.merge(labels[["journey_id", "conversion_at"]], on="journey_id")
    # planted journeys convert after their last event; keep the cut honest regardless
    audit = audit[audit["conversion_at"].isna() | (audit["event_at"] < audit["conversion_at"])]
    return audit.reset_index(drop=True), labels[["journey_id", "converted"]]


def _converted_row(audit: pd.DataFrame, **changes) -> pd.DataFrame:
    """A copy of a converted journey's first event at a new position, with `changes` applied."""
    row = audit[audit["conversion_at"].notna()].iloc[[0]].copy()
    row["position"] = 999
    row["event_id"] = "leak-1"
    for column, value in changes.items():
        row[column] = value
    return pd.concat([audit, row], ignore_index=True)


def _user_in_two_splits(audit: pd.DataFrame) -> pd.DataFrame:
    user = audit["user_id"].iloc[0]
    other = "test" if audit["split"].iloc[0] != "test" else "train"
    moved = audit.copy()
    moved.loc[moved.index[-1], ["user_id", "split"]] = [user, other]
    return moved


def _label_shadow(audit: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """A column that is the label under another name: caught by AUC, not by its name."""
    return audit.assign(basket_value=audit["journey_id"].map(labels.set_index("journey_id")["converted"]) * 42.0)


LEAKS = {
    "funnel event (by event_type)": lambda a, l: _converted_row(a, event_type="funnel", event="tap_buy_button"),
    "funnel event (by event name)": lambda a, l: _converted_row(a, event_type="navigation", event="cart_page_load"),
    "temporal leakage": lambda a, l: _converted_row(a, event_at=a["conversion_at"].dropna().iloc[0]),
    "label-derived column (its name matches a label pattern)": lambda a, l: a.assign(checkout_id="c1"),
    "a column that predicts the label almost perfectly on its own": _label_shadow,
    "the same user in more than one of train, validation and test": lambda a, l: _user_in_two_splits(a),
    "duplicate event": lambda a, l: _converted_row(a, event_id=a["event_id"].iloc[0]),
    "duplicate journey": lambda a, l: _converted_row(a, position=1),
}


def test_clean_table_passes_every_suite(clean):
    audit, labels = clean
    report = leakage_guard(audit, TABLE, guard_parameters(), labels=labels)
    assert report.success, [f.message for f in report.failures]
    assert [r.suite for r in report.results] == [
        "no_funnel_sequences", "feature_columns", "user_splits", "single_feature_auc"
    ]


@pytest.mark.parametrize("leak", LEAKS)
def test_each_leak_fails_with_a_message_naming_it(leak, clean):
    audit, labels = clean
    report = leakage_guard(LEAKS[leak](audit, labels), TABLE, guard_parameters(), labels=labels)
    assert not report.success
    matching = [f for f in report.failures if leak in f.message]
    assert matching, [f.message for f in report.failures]
    assert all(TABLE in f.message for f in matching)
    assert any(f.example or f.observed for f in matching)


def test_failure_shows_the_offending_row(clean):
    audit, labels = clean
    leaked = LEAKS["temporal leakage"](audit, labels)
    report = leakage_guard(leaked, TABLE, guard_parameters(), labels=labels)
    (failure,) = [f for f in report.failures if f.column == "conversion_at"]
    assert failure.unexpected_count == 1
    assert failure.example["event_id"] == "leak-1"
    assert failure.example["event_at"] == failure.example["conversion_at"]


def test_single_feature_auc_names_the_column(clean):
    audit, labels = clean
    report = leakage_guard(_label_shadow(audit, labels), TABLE, guard_parameters(), labels=labels)
    (failure,) = [f for f in report.failures if "on its own" in f.leak]
    assert failure.example["column_name"] == "basket_value"
    assert failure.example["auc"] == pytest.approx(1.0)


def test_without_labels_the_auc_check_is_skipped_and_said(clean):
    audit, _ = clean
    report = leakage_guard(audit, TABLE, guard_parameters())
    assert report.success and "skipped" in report.notes[0]
