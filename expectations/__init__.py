"""Great Expectations suites (JSON, versioned with the code) and the runner that validates a frame."""

from expectations.guard import (
    GuardFailure,
    GuardReport,
    GuardResult,
    conform_own_table,
    leakage_guard,
    load_suite,
    single_feature_aucs,
    validate_frame,
)

__all__ = [
    "GuardFailure",
    "GuardReport",
    "GuardResult",
    "conform_own_table",
    "leakage_guard",
    "load_suite",
    "single_feature_aucs",
    "validate_frame",
]
