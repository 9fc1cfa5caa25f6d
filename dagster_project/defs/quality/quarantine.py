"""How many raw events the contract's row-level rules quarantined, per reason, after dbt."""

import dagster as dg
import pandas as pd

from dagster_project.defs.dbt.assets import dbt_model_key
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.warehouse import WAREHOUSE_POOL

SCREENED_MODEL = "stg_sessions__events_screened"


def quarantine_frame(reasons: pd.Series) -> pd.DataFrame:
    """status, reason, n_events, share_of_raw: one `accepted` row, then one `quarantined` row per
    reason (most first), from every raw event's quarantine reason (null: accepted)."""
    raw_events = len(reasons)
    counts = reasons.dropna().value_counts()
    rows = [("accepted", None, raw_events - int(counts.sum()))]
    rows += [("quarantined", reason, int(n)) for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return pd.DataFrame(rows, columns=["status", "reason", "n_events"]).assign(
        share_of_raw=lambda f: f["n_events"] / max(raw_events, 1)
    )


@dg.asset(
    pool=WAREHOUSE_POOL,
    key=[OUTPUT_SCHEMA, "quarantine_counts"],
    ins={"screened": dg.AssetIn(dbt_model_key(SCREENED_MODEL), metadata={"columns": ["quarantine_reason"]})},
    group_name="quarantine",
    kinds={"duckdb"},
)
def quarantine_counts(context: dg.AssetExecutionContext, screened: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """Raw events accepted and quarantined (per reason) by dbt's staging screen: one row per
    status and reason, read back by the run summary and logged with every training run. The rows
    themselves are in staging.quarantine_events; raw = accepted + quarantined is a dbt test."""
    frame = quarantine_frame(screened["quarantine_reason"])
    quarantined = frame[frame["status"] == "quarantined"]
    raw_events, n_quarantined = len(screened), int(quarantined["n_events"].sum())
    counts = dict(zip(quarantined["reason"], quarantined["n_events"]))
    if n_quarantined:
        context.log.warning(f"{n_quarantined} of {raw_events} raw events quarantined: {counts}")
    return dg.Output(
        frame,
        metadata={
            "raw_events": raw_events,
            "accepted_events": raw_events - n_quarantined,
            "quarantined_events": n_quarantined,
            **{f"quarantined__{reason}": int(n) for reason, n in counts.items()},
        },
    )
