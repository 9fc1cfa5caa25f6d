"""Raw contract tables from journeylift's own simulators, with the truth they know.

JOURNEYLIFT_SOURCE=simulator (the default) simulates the sessions domain; simulator:ad_funnel
the sponsored-product ad-funnel domain. Each returns its raw tables and truth tables through the
warehouse I/O manager (`raw.<table>`, `journeylift.simulator_truth`, ...) and drops the other
domain's raw tables an earlier run left, since dbt would otherwise screen both. Their config is
the simulator's own dataclass, every structural parameter with its default.

The sessions simulator is partitioned by event date, like the incremental dbt models it feeds:
the whole configured simulation is drawn with its fixed seed (well under a second at the default
size) and a run keeps its dates' events (raw.events rows of those dates replaced, so re-running a
date changes no row; a run over every date writes them all). Its other tables hold the whole
simulation and are written whole.
"""

import dagster as dg
import pandas as pd

from dagster_project.partitions import covers_every_partition, window_dates
from dagster_project.settings import OUTPUT_SCHEMA, RAW_SCHEMA, as_dataclass, config_from_dataclass, dbt_vars
from dagster_project.warehouse import WAREHOUSE_POOL, Warehouse
from ml.contract import AD_FUNNEL, CONTRACT_TABLES, SESSIONS, domain_tables
from ml.simulate import SimulationConfig, simulate_sessions
from ml.simulate.ad_funnel import AdFunnelConfig, simulate_ad_funnel

SimulatorConfig = config_from_dataclass(SimulationConfig, name="SimulatorConfig")
# The window is the dbt var attribution_window_days (the simulator must cut journeys as dbt does).
AdFunnelSimulatorConfig = config_from_dataclass(
    AdFunnelConfig, exclude=("attribution_window_days",), name="AdFunnelSimulatorConfig"
)
TRUTH_OUTS = {
    "simulator_truth": dg.AssetOut(
        key=[OUTPUT_SCHEMA, "simulator_truth"],
        description="The true effect of each intervention (remove_ad_events, remove_event:<event>, ...) "
        "computed from the simulator's structural model with every journey's latent intent.",
    ),
    "simulator_position_weights": dg.AssetOut(
        key=[OUTPUT_SCHEMA, "simulator_position_weights"],
        description="The simulator's true position weights w(position) (position, weight).",
    ),
}


def raw_outs(tables: list[str], partition_expr: dict[str, str] | None = None) -> dict[str, dg.AssetOut]:
    """One output per raw contract table, described from the contract (`partition_expr`: the
    timestamp column of a table whose rows a partitioned run replaces by date)."""
    outs = {}
    for table in tables:
        contract = CONTRACT_TABLES[table]
        optional = "" if contract.required else "optional "
        outs[table] = dg.AssetOut(
            key=[RAW_SCHEMA, table],
            description=f"Raw `{table}` ({optional}{contract.domain} contract table), simulated: "
            f"{', '.join(contract.rules)}.",
            metadata={"partition_expr": partition_expr[table]} if table in (partition_expr or {}) else None,
        )
    return outs


def truth_outputs(truth: pd.DataFrame, position_weights: pd.DataFrame):
    yield dg.Output(truth, output_name="simulator_truth")
    yield dg.Output(position_weights, output_name="simulator_position_weights")


def dated_events(context: dg.AssetExecutionContext, events: pd.DataFrame) -> pd.DataFrame:
    """The events of the run's event dates (all of them on a run over every date)."""
    if covers_every_partition(context.assets_def.partitions_def, context.partition_key_range):
        return events
    start, end = window_dates(context.partition_time_window)
    context.log.info(f"events of {start:%Y-%m-%d} to {end:%Y-%m-%d} (end excluded)")
    return events[(events["event_ts"] >= start) & (events["event_ts"] < end)]


def build_simulated_sessions(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The sessions simulator's raw tables and truth, one multi-asset (op `simulated_sessions`)
    partitioned by event date."""

    @dg.multi_asset(
        outs={**raw_outs(domain_tables(SESSIONS), partition_expr={"events": "event_ts"}), **TRUTH_OUTS},
        group_name="raw", name="simulated_sessions", partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(), pool=WAREHOUSE_POOL,
    )
    def simulated_sessions(context: dg.AssetExecutionContext, config: SimulatorConfig, warehouse: Warehouse):
        """Simulate users' sessions with a known structural model and load the run's event dates
        as the raw tables.

        The truth table holds, for each intervention, the mean effect on the conversion
        probability computed with each session's latent intent, so every attribution
        downstream can be scored against it."""
        sim = simulate_sessions(as_dataclass(config, SimulationConfig))
        warehouse.drop_tables(RAW_SCHEMA, domain_tables(AD_FUNNEL))  # a stale ad-funnel run's tables
        events = dated_events(context, sim.events)
        yield dg.Output(events, output_name="events", metadata={
            "users": int(events["user_id"].nunique()),
            "sessions": len(sim.sessions),
            "conversion_rate": float(sim.sessions["converted"].mean()),
            "null_session_id_share": float(events["session_id"].isna().mean()),
        })
        yield dg.Output(sim.dimension_store, output_name="dimension_store")
        yield dg.Output(sim.ad_experiment, output_name="ad_experiment", metadata={
            "holdout_users": int((sim.ad_experiment["arm"] == "holdout").sum()),
        })
        yield from truth_outputs(sim.truth, sim.position_weights)
        context.log.info(f"{len(sim.sessions)} sessions simulated; {len(events)} of their events loaded")

    return simulated_sessions


def build_simulated_ad_funnel() -> dg.AssetsDefinition:
    """The ad-funnel simulator's raw tables and truth, one multi-asset (op `simulated_ad_funnel`)."""

    @dg.multi_asset(outs={**raw_outs(domain_tables(AD_FUNNEL)), **TRUTH_OUTS}, group_name="raw", name="simulated_ad_funnel",
                    pool=WAREHOUSE_POOL)
    def simulated_ad_funnel(context: dg.AssetExecutionContext, config: AdFunnelSimulatorConfig, warehouse: Warehouse):
        """Simulate sponsored-product journeys (user x product) with a known structural model and
        load them as the raw ad-funnel tables, with the true effect of removing each ad event."""
        window = int(dbt_vars()["attribution_window_days"])
        sim = simulate_ad_funnel(as_dataclass(config, AdFunnelConfig, attribution_window_days=window))
        warehouse.drop_tables(RAW_SCHEMA, domain_tables(SESSIONS))
        for table in domain_tables(AD_FUNNEL):
            metadata = {}
            if table == "impressions":
                metadata = {"users": int(sim.impressions["user_id"].nunique()), "journeys": len(sim.journeys),
                            "conversion_rate": float(sim.journeys["converted"].mean())}
            yield dg.Output(getattr(sim, table), output_name=table, metadata=metadata)
        yield from truth_outputs(sim.truth, sim.position_weights)
        context.log.info(f"{len(sim.journeys)} ad journeys simulated")

    return simulated_ad_funnel
