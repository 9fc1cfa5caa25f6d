"""The GX leakage suite on frames: clean passes, each injected leak fails and names itself."""

import pandas as pd
import pytest

from dagster_project.defs.quality.leakage_guard import guard_parameters
from expectations import validate_frame

TABLE = "marts.fct_journey_sequences_no_funnel"


def clean_audit_frame() -> pd.DataFrame:
    """Two journeys as the audit view shows them: one converted at 10:10, one not converted."""
    return pd.DataFrame(
        {
            "journey_id": ["j1", "j1", "j2"],
            "user_id": ["u1", "u1", "u2"],
            "split": ["train", "train", "test"],
            "position": [1, 2, 1],
            "event_id": ["e1", "e2", "e3"],
            "event_at": pd.to_datetime(["2026-10-01 10:00", "2026-10-01 10:05", "2026-10-02 09:00"]),
            "event_type": ["search", "store_page", "store_impression"],
            "event": ["core_search", "store_page_load", "m_card_view"],
            "discovery_feature": ["Core Search", "NO_FEATURE", "Traditional Carousel"],
            "store_id": ["NO_STORE", "st_0001", "st_0002"],
            "store_name": ["NO_STORE", "Store 1", "Store 2"],
            "primary_tag_name": ["NO_STORE", "Pizza", "Sushi"],
            "primary_category_name": ["NO_STORE", "Restaurant", "Restaurant"],
            "is_nv": [False, False, False],
            "is_sponsored": [False, False, True],
            "seconds_since_prev": [0.0, 300.0, 0.0],
            "conversion_at": pd.to_datetime(["2026-10-01 10:10", "2026-10-01 10:10", None]),
        }
    )


def _with_row(frame: pd.DataFrame, **changes) -> pd.DataFrame:
    row = frame.iloc[[1]].copy()
    for column, value in changes.items():
        row[column] = value
    return pd.concat([frame, row], ignore_index=True)


LEAKS = {
    "funnel event (by event_type)": lambda f: _with_row(f, event_id="x1", event_type="funnel", event="some_funnel_step"),
    "funnel event (by event name)": lambda f: _with_row(f, event_id="x2", event_type="store_page", event="cart_page_load"),
    "temporal leakage": lambda f: _with_row(f, event_id="x3", event_at=pd.Timestamp("2026-10-01 10:10")),
    "label-derived or unexpected column": lambda f: f.assign(converted=True),
    "duplicate event": lambda f: _with_row(f, event_id="e2"),
}


def test_clean_frame_passes():
    result = validate_frame(clean_audit_frame(), "no_funnel_sequences", TABLE, guard_parameters())
    assert result.success, [f.message for f in result.failures]
    assert result.n_expectations >= 5


@pytest.mark.parametrize("leak", LEAKS)
def test_each_leak_fails_with_a_message_naming_it(leak):
    leaked = LEAKS[leak](clean_audit_frame())
    result = validate_frame(leaked, "no_funnel_sequences", TABLE, guard_parameters())
    assert not result.success
    messages = [f.message for f in result.failures]
    assert any(leak in m and TABLE in m for m in messages), messages


def test_failure_shows_the_offending_row():
    leaked = LEAKS["temporal leakage"](clean_audit_frame())
    (failure,) = validate_frame(leaked, "no_funnel_sequences", TABLE, guard_parameters()).failures
    assert failure.column == "conversion_at"
    assert failure.unexpected_count == 1
    assert failure.example["event_id"] == "x3"
    assert failure.example["event_at"] == "2026-10-01T10:10:00"
