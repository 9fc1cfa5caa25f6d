"""The leakage guard: blocking Great Expectations checks on the honest sequences.

dbt's singular tests assert the same rules inside `dbt build`, but failed dbt
tests do not reliably stop downstream Python assets, so training waits on this
blocking check instead. Turning it into a warning takes an explicit switch,
JOURNEYLIFT_LEAKAGE_GUARD=warn, which is logged at load and on every evaluation.
"""

import os
import warnings

import dagster as dg
import pandas as pd

from dagster_project.outputs import publish_table
from dagster_project.settings import dbt_vars, journeylift_home
from dagster_project.warehouse import Warehouse
from expectations import GuardReport, leakage_guard

NO_FUNNEL_SEQUENCES = dg.AssetKey(["marts", "fct_journey_sequences_no_funnel"])
NO_FUNNEL_AUDIT = dg.AssetKey(["marts", "leakage_audit_no_funnel"])
LABELS = dg.AssetKey(["marts", "fct_journey_labels"])
GUARD_MODES = ("block", "warn")


def guard_mode() -> str:
    """`block` (the default) or `warn`, from JOURNEYLIFT_LEAKAGE_GUARD."""
    mode = os.environ.get("JOURNEYLIFT_LEAKAGE_GUARD", "block").strip().lower() or "block"
    if mode not in GUARD_MODES:
        raise ValueError(f"JOURNEYLIFT_LEAKAGE_GUARD must be one of {GUARD_MODES}, not {mode!r}")
    if mode == "warn":
        warnings.warn("JOURNEYLIFT_LEAKAGE_GUARD=warn: the leakage guard reports but does NOT stop training", stacklevel=2)
    return mode


def guard_parameters() -> dict:
    """Suite parameters from the dbt vars, the one copy of the funnel lists and guard settings."""
    project_vars = dbt_vars()
    return {
        "funnel_event_types": [project_vars["funnel_event_type"]],
        "funnel_events": list(project_vars["funnel_events"]),
        "label_column_patterns": list(project_vars["label_column_patterns"]),
        "single_feature_auc_max": float(project_vars["single_feature_auc_max"]),
    }


def report_rows(report: GuardReport) -> pd.DataFrame:
    """journeylift.leakage_guard: one row per failed expectation, or one `passed` row."""
    rows = [
        {"table": report.table, "passed": False, "leak": f.leak, "column": f.column,
         "unexpected_count": f.unexpected_count, "message": f.message}
        for f in report.failures
    ] or [{"table": report.table, "passed": True, "leak": None, "column": None, "unexpected_count": 0,
           "message": f"{report.n_expectations} expectations passed"}]
    return pd.DataFrame(rows)


def check_result(report: GuardReport, mode: str = "block") -> dg.AssetCheckResult:
    """Metadata names each failed rule, the table, the column and an example row."""
    metadata = {
        "mode": mode,
        "suites": ", ".join(r.suite for r in report.results),
        "rows_validated": report.results[0].n_rows,
        "expectations": report.n_expectations,
        "failed": len(report.failures),
    }
    if report.notes:
        metadata["notes"] = "; ".join(report.notes)
    if report.docs_url:
        metadata["data_docs"] = dg.MetadataValue.url(report.docs_url)
    if report.failures:
        metadata["failures"] = dg.MetadataValue.md("\n".join(f"- {f.message}" for f in report.failures))
        first_example = next((f.example for f in report.failures if f.example), None)
        if first_example:
            metadata["example_row"] = dg.MetadataValue.json(first_example)
    return dg.AssetCheckResult(
        passed=report.success,
        severity=dg.AssetCheckSeverity.ERROR if mode == "block" else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description="; ".join(f.leak for f in report.failures) or "no leakage found",
    )


MODE = guard_mode()


@dg.asset_check(asset=NO_FUNNEL_SEQUENCES, blocking=MODE == "block", additional_deps=[NO_FUNNEL_AUDIT, LABELS])
def no_funnel_leakage_guard(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    """GX suites on the honest sequences: no funnel event (by type or name), no event at or after
    the conversion moment, no column beyond the feature contract or with a label-like name, no
    column that predicts the label alone, no user in two splits, no duplicate event or journey."""
    if MODE != "block":
        context.log.warning("leakage guard in warn mode (JOURNEYLIFT_LEAKAGE_GUARD=warn): training is not stopped")
    audit = warehouse.read_table("marts.leakage_audit_no_funnel")
    labels = warehouse.read_table("marts.fct_journey_labels", columns="journey_id, converted")
    report = leakage_guard(
        audit, "marts.fct_journey_sequences_no_funnel", guard_parameters(), labels=labels,
        docs_root=journeylift_home(),  # GX keeps its project in <home>/gx
    )
    result = check_result(report, MODE)
    publish_table(warehouse, "leakage_guard", report_rows(report).assign(mode=MODE))
    return result
