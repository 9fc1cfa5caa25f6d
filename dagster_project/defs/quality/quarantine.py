"""How many raw events the contract's row-level rules quarantined, per reason, after dbt."""

import dagster as dg
import pandas as pd

from dagster_project.outputs import publish_table
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.sources import quarantine_counts
from dagster_project.warehouse import Warehouse

SCREENED = "staging.stg_sessions__events_screened"


@dg.asset(
    key=[OUTPUT_SCHEMA, "quarantine_counts"],
    deps=[dg.AssetKey(["staging", "quarantine_events"]), dg.AssetKey(["intermediate", "int_events_enriched"])],
    group_name="quarantine",
    kinds={"duckdb"},
)
def quarantine_counts_table(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Raw events accepted and quarantined (per reason) by dbt's staging screen: one row per
    status and reason, read back by the run summary. The rows themselves are in
    staging.quarantine_events; raw = accepted + quarantined is a dbt test."""
    with warehouse.connect(read_only=True) as con:
        raw_events = con.execute(f"select count(*) from {SCREENED}").fetchall()[0][0]
        counts = quarantine_counts(con)
    quarantined = sum(counts.values())
    frame = pd.DataFrame(
        [("accepted", None, raw_events - quarantined)]
        + [("quarantined", reason, n) for reason, n in sorted(counts.items(), key=lambda kv: -kv[1])],
        columns=["status", "reason", "n_events"],
    ).assign(share_of_raw=lambda f: f["n_events"] / max(raw_events, 1))
    if quarantined:
        context.log.warning(f"{quarantined} of {raw_events} raw events quarantined: {counts}")
    metadata = publish_table(warehouse, "quarantine_counts", frame)
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "raw_events": raw_events,
            "accepted_events": raw_events - quarantined,
            "quarantined_events": quarantined,
            **{f"quarantined__{reason}": n for reason, n in counts.items()},
        }
    )
