"""Great Expectations suites (JSON, versioned with the code) and the runner that validates a frame."""

from expectations.guard import GuardFailure, GuardResult, load_suite, validate_frame

__all__ = ["GuardFailure", "GuardResult", "load_suite", "validate_frame"]
