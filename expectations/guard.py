"""Run a Great Expectations suite from `expectations/suites/` on a pandas frame.

GX's SQL datasource does not work on DuckDB, so callers read the table into a
frame and validate that. Suite parameters (`{"$PARAMETER": ...}`) carry the
funnel event lists from the dbt vars, so the lists exist once.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from expectations.data_docs import localize, vendor_dir

SUITES_DIR = Path(__file__).resolve().parent / "suites"
EXAMPLE_ID_COLUMNS = ("journey_id", "event_id", "column_name", "user_id")

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
    docs_url: str | None = None

    @property
    def success(self) -> bool:
        return not self.failures


def load_suite(name: str) -> dict:
    with open(SUITES_DIR / f"{name}.json") as f:
        return json.load(f)


@dataclass
class GuardReport:
    """Every suite of the leakage guard on one table."""

    table: str
    results: list[GuardResult]
    notes: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    @property
    def failures(self) -> list[GuardFailure]:
        return [f for r in self.results for f in r.failures]

    @property
    def n_expectations(self) -> int:
        return sum(r.n_expectations for r in self.results)

    @property
    def docs_url(self) -> str | None:
        return self.results[0].docs_url if self.results else None


# Columns that identify rows or come from the audit join; never features on their own.
NON_FEATURE_COLUMNS = ("journey_id", "user_id", "event_id", "split", "event_at", "conversion_at")
ROWS_SUITE = "no_funnel_sequences"
COLUMN_SET = "expect_table_columns_to_match_set"  # the feature contract: the mart's exact columns
AUDIT_COLUMN = "conversion_at"  # joined on from the labels, not a column of the table


def expectation_columns(expectation: dict) -> list[str]:
    """The columns an expectation of a suite reads."""
    kwargs = expectation["kwargs"]
    return [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs] + list(kwargs.get("column_list", []))


def feature_contract_columns() -> list[str]:
    """The columns a sequences/feature table may hold (the mart's, from the rows suite)."""
    (spec,) = [e for e in load_suite(ROWS_SUITE)["expectations"] if e["type"] == COLUMN_SET]
    return list(spec["kwargs"]["column_set"])


@dataclass
class TableShape:
    """How a user's own table differs from the feature contract: the rules it cannot be checked
    against (missing column -> what the rule catches) and its columns outside the contract."""

    missing: dict[str, list[str]]
    unknown: list[str]


def own_table_rules(columns, parameters: dict) -> tuple[list[dict], TableShape]:
    """The rows suite's expectations a table with `columns` can be checked against, and its shape.

    A rule whose column is absent is skipped and its column named as missing (never failed as if
    values broke it); the exact column set gives way to naming each column outside the contract
    as unknown, unless its name is label-like (the feature_columns suite fails it) or it
    predicts the label (the single-feature AUC suite fails it)."""
    present = set(columns)
    runnable, missing = [], {}
    for expectation in load_suite(ROWS_SUITE)["expectations"]:
        if expectation["type"] == COLUMN_SET:
            continue
        absent = [c for c in expectation_columns(expectation) if c not in present]
        for column in absent:
            if column == AUDIT_COLUMN:  # from the labels: the caller says the temporal rule was skipped
                continue
            missing.setdefault(column, []).append((expectation.get("meta") or {}).get("leak", expectation["type"]))
        if not absent:
            runnable.append(expectation)
    contract = set(feature_contract_columns()) | {AUDIT_COLUMN}
    patterns = [re.compile(p) for p in parameters.get("label_column_patterns", [])]
    unknown = [c for c in columns if c not in contract and not any(p.search(str(c)) for p in patterns)]
    return runnable, TableShape(missing, unknown)


def leakage_guard(
    audit: pd.DataFrame,
    table: str,
    parameters: dict,
    labels: pd.DataFrame | None = None,
    docs_root: Path | None = None,
    run_name: str | None = None,
    own_table: bool = False,
    strict: bool = False,
) -> GuardReport:
    """Run every leakage suite on a sequences/feature table.

    audit: the table's rows with each journey's `conversion_at` joined on (the dbt view
        `leakage_audit_no_funnel`, or a user's file joined to their labels).
    parameters: funnel_event_types, funnel_events, label_column_patterns, single_feature_auc_max.
    labels: journey_id, converted — enables the single-feature AUC check.
    docs_root: a folder for GX's file project and Data Docs (see validate_frame).
    run_name: what the Data Docs call this validation (the Dagster run).

    own_table: a table a user brings rather than the mart (`journeylift check`): rules whose
        column is absent are skipped with a note naming it, and columns outside the feature
        contract are noted as unknown (see own_table_rules); with `strict`, both fail.

    Suites: `no_funnel_sequences` on the rows (funnel events, temporal leakage, contract
    columns, duplicates), `feature_columns` on the column names (label-like names),
    `user_splits` on the distinct (user_id, split) pairs, and `single_feature_auc` on each
    column's AUC against the label.
    """
    def validate(frame: pd.DataFrame, suite_name: str, expectations: list[dict] | None = None,
                 notes: str | None = None) -> GuardResult:
        return validate_frame(frame, suite_name, table, parameters, docs_root,
                              expectations=expectations, run_name=run_name, notes=notes)

    notes = []
    if own_table:
        rules, shape = own_table_rules(list(audit.columns), parameters)
        results = [validate(audit, ROWS_SUITE, rules), _shape_result(shape, table, strict)]
        if not strict:
            notes += [f"missing column {c}: not checked for {', '.join(leaks)}" for c, leaks in shape.missing.items()]
            notes += [f"unknown column {c}: not a feature column of the contract, checked by name and "
                      "single-feature AUC only (an error with --strict)" for c in shape.unknown]
    else:
        results = [validate(audit, ROWS_SUITE)]
    table_columns = [c for c in audit.columns if c != AUDIT_COLUMN]
    names = pd.DataFrame({"column_name": table_columns})
    results.append(validate(names, "feature_columns"))
    if {"user_id", "split"} <= set(audit.columns):
        pairs = audit[["user_id", "split"]].drop_duplicates()
        results.append(validate(pairs, "user_splits"))
    if labels is not None and "journey_id" in audit.columns:
        aucs = single_feature_aucs(audit, labels)
        shown = aucs.sort_values("auc", ascending=False).round(4).to_markdown(index=False)
        results.append(validate(aucs, "single_feature_auc", notes=f"Each column's AUC alone, highest first:\n\n{shown}"))
    else:
        notes.append("single-feature AUC check skipped: no labels given")
    report = GuardReport(table, results, notes)
    if report.docs_url:  # once GX has rewritten its pages for every suite: point them at local scripts
        localize(Path(report.docs_url.removeprefix("file://")).parent, vendor_dir(docs_root))
    return report


def conform_own_table(frame: pd.DataFrame, renames: dict[str, str]) -> pd.DataFrame:
    """A user's table under the marts' column names (`renames`: old -> new), its times as naive
    UTC timestamps the way the raw contract reads them: text with an offset or a zone-aware column
    converted to UTC, a value without a zone taken as UTC."""
    frame = frame.rename(columns={old: new for old, new in renames.items() if old in frame.columns})
    for column in NON_FEATURE_COLUMNS:
        if column.endswith("_at") and column in frame.columns:
            values = frame[column]
            if not isinstance(values.dtype, pd.DatetimeTZDtype) and not pd.api.types.is_datetime64_dtype(values):
                try:
                    values = pd.to_datetime(values, utc=True, format="mixed")
                except (ValueError, TypeError) as error:
                    raise ValueError(f"column {column}: not a timestamp ({str(error).splitlines()[0]})") from None
            if isinstance(values.dtype, pd.DatetimeTZDtype):
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            frame[column] = values
    return frame


def _shape_result(shape: TableShape, table: str, strict: bool) -> GuardResult:
    """A user's table's missing and unknown columns as a result: failures only when `strict`."""
    failures = []
    if strict:
        failures += [GuardFailure(f"missing column (needed for {', '.join(leaks)}; --strict)", table,
                                  "expect_column_to_exist", column, None, None) for column, leaks in shape.missing.items()]
        failures += [GuardFailure("unknown column (not a feature column of the contract; --strict)", table,
                                  COLUMN_SET, column, None, None) for column in shape.unknown]
    return GuardResult("table_columns", table, 0, len(shape.missing) + len(shape.unknown), failures)


def single_feature_aucs(frame: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """column_name, auc: how well each feature column alone separates converted journeys.

    Each event carries its journey's label. Numeric and boolean columns are scored as they
    are; a categorical column by the label rate of its value, computed out of fold (two
    folds by journey) so that an id-like column cannot score by memorising. AUC is
    symmetrised: max(auc, 1 - auc).
    """
    from sklearn.metrics import roc_auc_score

    label = frame["journey_id"].map(labels.set_index("journey_id")["converted"]).astype(float)
    known = label.notna()
    frame, label = frame[known], label[known].to_numpy()
    if len(np.unique(label)) < 2:
        return pd.DataFrame({"column_name": [], "auc": []})
    fold = (pd.util.hash_array(frame["journey_id"].to_numpy(dtype=object)) % 2).astype(bool)
    rows = []
    for column in frame.columns:
        if column in NON_FEATURE_COLUMNS:
            continue
        values = frame[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            score = values.astype(float).fillna(-1.0).to_numpy()
        else:
            score = _out_of_fold_rate(values.astype(str).to_numpy(), label, fold)
        auc = roc_auc_score(label, score)
        rows.append({"column_name": column, "auc": float(max(auc, 1.0 - auc))})
    return pd.DataFrame(rows)


def _out_of_fold_rate(values: np.ndarray, label: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Each row's value scored by the label rate of that value in the other fold (prior if unseen)."""
    prior = label.mean()
    score = np.full(len(values), prior)
    for held_out in (False, True):
        fit = fold != held_out
        rates = pd.Series(label[fit]).groupby(values[fit]).mean()
        score[fold == held_out] = pd.Series(values[fold == held_out]).map(rates).fillna(prior).to_numpy()
    return score


def validate_frame(
    frame: pd.DataFrame, suite_name: str, table: str, parameters: dict, docs_root: Path | None = None,
    expectations: list[dict] | None = None, run_name: str | None = None, notes: str | None = None,
) -> GuardResult:
    """Validate `frame` (the contents of `table`) against the named suite (only `expectations`
    of it, when given).

    With `docs_root`, GX keeps a file project in `<docs_root>/gx` and updates its Data Docs (an HTML
    site with every validation) on each run, readable offline once the vendor files are fetched
    (expectations.data_docs); without it, nothing is written. `run_name` names the validation
    there (the Dagster run); `notes` (markdown) is shown beside every expectation of the suite.
    """
    import great_expectations as gx  # imported late: 3 s, and only the guard needs it
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    spec = load_suite(suite_name)
    if docs_root is None:
        context = gx.get_context(mode="ephemeral")
    else:
        context = gx.get_context(mode="file", project_root_dir=str(docs_root))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    name = f"{table}__{suite_name}"
    batch = (
        context.data_sources.add_or_update_pandas("journeylift")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("whole_table")
    )
    chosen = spec["expectations"] if expectations is None else expectations
    if notes:
        chosen = [{**expectation, "notes": notes} for expectation in chosen]
    suite = context.suites.add_or_update(gx.ExpectationSuite(name=suite_name, expectations=chosen))
    validation = context.validation_definitions.add_or_update(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    id_columns = [c for c in EXAMPLE_ID_COLUMNS if c in frame.columns]
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=name,
            validation_definitions=[validation],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")] if docs_root is not None else [],
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": id_columns},
        )
    )
    run = checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=parameters,
                         run_id=RunIdentifier(run_name=run_name) if run_name else None)
    (report,) = run.run_results.values()
    failures = [_failure(r, table, frame, id_columns) for r in report.results if not r.success]
    docs_url = context.get_docs_sites_urls()[0]["site_url"] if docs_root is not None else None
    return GuardResult(suite_name, table, len(frame), len(report.results), failures, docs_url)


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
