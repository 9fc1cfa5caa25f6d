"""Run a Great Expectations suite from `expectations/suites/` on a pandas frame.

GX's SQL datasource does not work on DuckDB, so callers read the table into a
frame and validate that. Suite parameters (`{"$PARAMETER": ...}`) carry the
funnel event lists from the dbt vars, so the lists exist once.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

SUITES_DIR = Path(__file__).resolve().parent / "suites"
EXAMPLE_ID_COLUMNS = ("journey_id", "event_id")

# GX logs a progress bar per validation; the guard reports its own results.
logging.getLogger("great_expectations").setLevel(logging.WARNING)


@dataclass
class GuardFailure:
    """One failed expectation, said the way a person fixes it: leak, table, column, an example row."""

    leak: str
    table: str
    expectation: str
    column: str | None
    unexpected_count: int | None
    example: dict | None
    observed: object = None

    @property
    def message(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        count = f" in {self.unexpected_count} row(s)" if self.unexpected_count else ""
        text = f"{self.leak}: {where} fails {self.expectation}{count}"
        if self.example is not None:
            text += f"; example row: {self.example}"
        elif self.observed is not None:
            text += f"; observed: {self.observed}"
        return text


@dataclass
class GuardResult:
    suite: str
    table: str
    n_rows: int
    n_expectations: int
    failures: list[GuardFailure] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.failures


def load_suite(name: str) -> dict:
    with open(SUITES_DIR / f"{name}.json") as f:
        return json.load(f)


def validate_frame(frame: pd.DataFrame, suite_name: str, table: str, parameters: dict) -> GuardResult:
    """Validate `frame` (the contents of `table`) against the named suite."""
    import great_expectations as gx  # imported late: 3 s, and only the guard needs it

    spec = load_suite(suite_name)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("journeylift")
        .add_dataframe_asset(table)
        .add_batch_definition_whole_dataframe("whole_table")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name, expectations=spec["expectations"]))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite_name}-{uuid.uuid4().hex[:8]}", data=batch, suite=suite)
    )
    id_columns = [c for c in EXAMPLE_ID_COLUMNS if c in frame.columns]
    report = validation.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=parameters,
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": id_columns},
    )
    failures = [
        _failure(r, table, frame, id_columns) for r in report.results if not r.success
    ]
    return GuardResult(suite_name, table, len(frame), len(report.results), failures)


def _failure(result, table: str, frame: pd.DataFrame, id_columns: list[str]) -> GuardFailure:
    config = result.expectation_config
    kwargs = config.kwargs
    details = result.result or {}
    column = kwargs.get("column") or kwargs.get("column_A")
    if result.exception_info and result.exception_info.get("raised_exception"):
        observed = result.exception_info.get("exception_message")
    else:
        observed = details.get("details", {}).get("mismatched") or details.get("observed_value")
    return GuardFailure(
        leak=(config.meta or {}).get("leak", config.type),
        table=table,
        expectation=config.type,
        column=column,
        unexpected_count=details.get("unexpected_count"),
        example=_example_row(details, frame, id_columns),
        observed=observed,
    )


def _example_row(details: dict, frame: pd.DataFrame, id_columns: list[str]) -> dict | None:
    """The first offending row in full, found by its id columns."""
    indices = details.get("unexpected_index_list") or []
    if not indices or not id_columns:
        return None
    first = indices[0]
    match = frame
    for column in id_columns:
        if column in first:
            match = match[match[column] == first[column]]
    if match.empty:
        return {k: first[k] for k in first}
    row = match.iloc[0]
    return {k: _plain(v) for k, v in row.items() if not pd.isna(v)}


def _plain(value):
    """A value as it reads in a message: ISO timestamps, Python scalars instead of numpy ones."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value
