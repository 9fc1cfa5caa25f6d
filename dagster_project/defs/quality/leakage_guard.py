"""The leakage guard: blocking Great Expectations checks on the honest sequences.

dbt's singular tests assert the same rules inside `dbt build`, but failed dbt
tests do not reliably stop downstream Python assets, so training waits on this
blocking check instead. Turning it into a warning takes an explicit setting,
JOURNEYLIFT_LEAKAGE_GUARD=warn (Settings.leakage_guard), which is warned about at
load and on every evaluation.
"""

import warnings

import dagster as dg
import pandas as pd

from dagster_project.defs.dbt.assets import LABELS_MODEL, dbt_model_key, sequences_model
from dagster_project.settings import GUARD_ENV, OUTPUT_SCHEMA, dbt_vars, journeylift_home, server_url
from dagster_project.warehouse import WAREHOUSE_POOL, Warehouse, output_file
from expectations import GuardReport, leakage_guard
from ml.data import HONEST_VARIANT

CHECK_NAME = "no_funnel_leakage_guard"
AUDIT_MODEL = "leakage_audit_no_funnel"  # the honest sequences with conversion_at, for the temporal rule
GUARD_TABLE = "leakage_guard"  # journeylift.leakage_guard: what the last evaluation found


def guarded_asset() -> dg.AssetKey:
    """The honest sequences mart: the asset the guard checks and training waits on."""
    return dbt_model_key(sequences_model(HONEST_VARIANT))


def guard_check_key() -> dg.AssetCheckKey:
    return dg.AssetCheckKey(guarded_asset(), CHECK_NAME)


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


def check_result(report: GuardReport, mode: str, rows: pd.DataFrame) -> dg.AssetCheckResult:
    """Metadata names each failed rule, the table, the column and an example row; `rows` (the
    leakage_guard table) rides along for the report asset's summary."""
    metadata = {
        "mode": mode,
        "suites": ", ".join(r.suite for r in report.results),
        "rows_validated": report.results[0].n_rows,
        "expectations": report.n_expectations,
        "failed": len(report.failures),
        "rows": dg.MetadataValue.json(rows.to_dict(orient="records")),
    }
    if report.notes:
        metadata["notes"] = "; ".join(report.notes)
    if report.docs_url:  # served by `make dev`; the file itself is under JOURNEYLIFT_HOME/gx
        metadata["data_docs"] = dg.MetadataValue.url(f"{server_url('data_docs')}/index.html")
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


def latest_guard_rows(instance: dg.DagsterInstance) -> pd.DataFrame | None:
    """The leakage_guard rows of the guard's latest evaluation (None before the first)."""
    record = instance.get_latest_asset_check_evaluation_record(guard_check_key())
    evaluation = record.event.dagster_event.event_specific_data if record and record.event else None
    if evaluation is None or "rows" not in evaluation.metadata:
        return None
    return pd.DataFrame(evaluation.metadata["rows"].value)


def guard_passed(instance: dg.DagsterInstance) -> bool:
    """Did the latest evaluation of the leakage guard pass?"""
    record = instance.get_latest_asset_check_evaluation_record(guard_check_key())
    if record is None or record.event is None or record.event.dagster_event is None:
        return False
    return bool(record.event.dagster_event.event_specific_data.passed)


def build_leakage_guard(mode: str) -> dg.AssetChecksDefinition:
    """The guard as a blocking check (`mode` "block"), or a warning one ("warn", said at load)."""
    if mode != "block":
        warnings.warn(f"{GUARD_ENV}=warn: the leakage guard reports but does NOT stop training", stacklevel=2)

    @dg.asset_check(
        pool=WAREHOUSE_POOL,
        asset=guarded_asset(),
        name=CHECK_NAME,
        blocking=mode == "block",
        additional_ins={
            "audit": dg.AssetIn(dbt_model_key(AUDIT_MODEL)),
            "labels": dg.AssetIn(dbt_model_key(LABELS_MODEL), metadata={"columns": ["journey_id", "converted"]}),
        },
    )
    def no_funnel_leakage_guard(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse, audit: pd.DataFrame, labels: pd.DataFrame
    ) -> dg.AssetCheckResult:
        """GX suites on the honest sequences: no funnel event (by type or name), no event at or after
        the conversion moment, no column beyond the feature contract or with a label-like name, no
        column that predicts the label alone, no user in two splits, no duplicate event or journey."""
        if mode != "block":
            context.log.warning(f"leakage guard in warn mode ({GUARD_ENV}=warn): training is not stopped")
        table = guarded_asset().to_user_string().replace("/", ".")
        report = leakage_guard(audit, table, guard_parameters(), labels=labels,  # GX's project: <home>/gx
                               docs_root=journeylift_home(), run_name=f"dagster run {context.run.run_id}")
        rows = report_rows(report).assign(mode=mode)
        warehouse.write_table(OUTPUT_SCHEMA, GUARD_TABLE, rows)
        output_file(GUARD_TABLE, rows)
        return check_result(report, mode, rows)

    return no_funnel_leakage_guard
