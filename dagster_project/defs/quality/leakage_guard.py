"""The leakage guard: a blocking Great Expectations check on the honest sequences.

dbt's singular tests assert the same rules inside `dbt build`, but failed dbt
tests do not reliably stop downstream Python assets, so training waits on this
blocking check instead.
"""

import dagster as dg

from dagster_project.settings import dbt_vars
from dagster_project.warehouse import Warehouse
from expectations import GuardResult, validate_frame

NO_FUNNEL_SEQUENCES = dg.AssetKey(["marts", "fct_journey_sequences_no_funnel"])
NO_FUNNEL_AUDIT = dg.AssetKey(["marts", "leakage_audit_no_funnel"])


def guard_parameters() -> dict:
    """Suite parameters from the dbt vars, the one copy of the funnel event lists."""
    project_vars = dbt_vars()
    return {
        "funnel_event_types": [project_vars["funnel_event_type"]],
        "funnel_events": list(project_vars["funnel_events"]),
    }


def check_result(result: GuardResult) -> dg.AssetCheckResult:
    """Metadata names each failed rule, the table, the column and an example row."""
    metadata = {
        "suite": result.suite,
        "rows_validated": result.n_rows,
        "expectations": result.n_expectations,
        "failed": len(result.failures),
    }
    if result.failures:
        metadata["failures"] = dg.MetadataValue.md(
            "\n".join(f"- {failure.message}" for failure in result.failures)
        )
        first_example = next((f.example for f in result.failures if f.example), None)
        if first_example:
            metadata["example_row"] = dg.MetadataValue.json(first_example)
    return dg.AssetCheckResult(
        passed=result.success,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description="; ".join(f.leak for f in result.failures) or "no leakage found",
    )


@dg.asset_check(asset=NO_FUNNEL_SEQUENCES, blocking=True, additional_deps=[NO_FUNNEL_AUDIT])
def no_funnel_leakage_guard(warehouse: Warehouse) -> dg.AssetCheckResult:
    """GX suite `no_funnel_sequences`: no funnel event (by type or name), no event at or after
    the conversion moment, no column beyond the feature contract (labels), no duplicate event."""
    frame = warehouse.read_table("marts.leakage_audit_no_funnel")
    result = validate_frame(
        frame,
        suite_name="no_funnel_sequences",
        table="marts.fct_journey_sequences_no_funnel",
        parameters=guard_parameters(),
    )
    return check_result(result)
