"""How many raw events the contract's row-level rules quarantined, per reason, after dbt, and how
many accepted events without session_id joined their user's session."""

import dagster as dg
import pandas as pd

from dagster_project.defs.dbt.assets import dbt_model_key
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.warehouse import WAREHOUSE_POOL

SCREENED_MODEL = "stg_sessions__events_screened"
SESSIONIZED_MODEL = "int_events_sessionized"
REPAIRED, REATTACHED = "repaired", "session_id_reattached"  # status and reason of a repaired row


def quarantine_frame(reasons: pd.Series, reattached: int = 0) -> pd.DataFrame:
    """status, reason, n_events, share_of_raw: one `accepted` row, a `repaired` row for the
    `reattached` accepted events without session_id that joined their user's session (when any),
    then one `quarantined` row per reason (most first), from every raw event's quarantine reason
    (null: accepted). The rows add up to the raw events."""
    raw_events = len(reasons)
    counts = reasons.dropna().value_counts()
    rows = [("accepted", None, raw_events - int(counts.sum()) - reattached)]
    if reattached:
        rows.append((REPAIRED, REATTACHED, reattached))
    rows += [("quarantined", reason, int(n)) for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return pd.DataFrame(rows, columns=["status", "reason", "n_events"]).assign(
        share_of_raw=lambda f: f["n_events"] / max(raw_events, 1)
    )


@dg.asset(
    pool=WAREHOUSE_POOL,
    key=[OUTPUT_SCHEMA, "quarantine_counts"],
    ins={
        "screened": dg.AssetIn(dbt_model_key(SCREENED_MODEL), metadata={"columns": ["quarantine_reason"]}),
        "sessionized": dg.AssetIn(dbt_model_key(SESSIONIZED_MODEL), metadata={"columns": ["is_session_reattached"]}),
    },
    group_name="quarantine",
    kinds={"duckdb"},
)
def quarantine_counts(
    context: dg.AssetExecutionContext, screened: pd.DataFrame, sessionized: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    """Raw events accepted and quarantined (per reason) by dbt's staging screen, and the accepted
    events without session_id that joined their user's session (int_events_sessionized): one row
    per status and reason, read back by the run summary and logged with every training run. The
    quarantined rows themselves are in staging.quarantine_events; raw = accepted + quarantined is
    a dbt test."""
    reattached = int(sessionized["is_session_reattached"].fillna(False).astype(bool).sum())
    frame = quarantine_frame(screened["quarantine_reason"], reattached)
    quarantined = frame[frame["status"] == "quarantined"]
    raw_events, n_quarantined = len(screened), int(quarantined["n_events"].sum())
    counts = dict(zip(quarantined["reason"], quarantined["n_events"]))
    if n_quarantined:
        context.log.warning(f"{n_quarantined} of {raw_events} raw events quarantined: {counts}")
    if reattached:
        context.log.info(f"{reattached} events without session_id joined their user's session")
    return dg.Output(
        frame,
        metadata={
            "raw_events": raw_events,
            "accepted_events": raw_events - n_quarantined,
            "quarantined_events": n_quarantined,
            "reattached_events": reattached,
            **{f"quarantined__{reason}": int(n) for reason, n in counts.items()},
        },
    )
