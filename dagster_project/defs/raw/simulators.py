"""Raw contract tables from journeylift's own simulators, with the truth they know.

JOURNEYLIFT_SOURCE=simulator (the default) simulates the sessions domain; simulator:ad_funnel
the sponsored-product ad-funnel domain. Each returns its raw tables and truth tables through the
warehouse I/O manager (`raw.<table>`, `journeylift.simulator_truth`, ...) and drops the other
domain's raw tables an earlier run left, since dbt would otherwise screen both. Their config is
the simulator's own dataclass, every structural parameter with its default.
"""

import dagster as dg
import pandas as pd

from dagster_project.settings import OUTPUT_SCHEMA, RAW_SCHEMA, as_dataclass, config_from_dataclass, dbt_vars
from dagster_project.warehouse import Warehouse
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


def raw_outs(tables: list[str]) -> dict[str, dg.AssetOut]:
    """One output per raw contract table, described from the contract."""
    outs = {}
    for table in tables:
        contract = CONTRACT_TABLES[table]
        optional = "" if contract.required else "optional "
        outs[table] = dg.AssetOut(
            key=[RAW_SCHEMA, table],
            description=f"Raw `{table}` ({optional}{contract.domain} contract table), simulated: "
            f"{', '.join(contract.rules)}.",
        )
    return outs


def truth_outputs(truth: pd.DataFrame, position_weights: pd.DataFrame):
    yield dg.Output(truth, output_name="simulator_truth")
    yield dg.Output(position_weights, output_name="simulator_position_weights")


def build_simulated_sessions() -> dg.AssetsDefinition:
    """The sessions simulator's raw tables and truth, one multi-asset (op `simulated_sessions`)."""

    @dg.multi_asset(outs={**raw_outs(domain_tables(SESSIONS)), **TRUTH_OUTS}, group_name="raw", name="simulated_sessions")
    def simulated_sessions(context: dg.AssetExecutionContext, config: SimulatorConfig, warehouse: Warehouse):
        """Simulate users' sessions with a known structural model and load them as the raw tables.

        The truth table holds, for each intervention, the mean effect on the conversion
        probability computed with each session's latent intent, so every attribution
        downstream can be scored against it."""
        sim = simulate_sessions(as_dataclass(config, SimulationConfig))
        warehouse.drop_tables(RAW_SCHEMA, domain_tables(AD_FUNNEL))  # a stale ad-funnel run's tables
        yield dg.Output(sim.events, output_name="events", metadata={
            "users": int(sim.events["user_id"].nunique()),
            "sessions": len(sim.sessions),
            "conversion_rate": float(sim.sessions["converted"].mean()),
            "null_session_id_share": float(sim.events["session_id"].isna().mean()),
        })
        yield dg.Output(sim.dimension_store, output_name="dimension_store")
        yield dg.Output(sim.ad_experiment, output_name="ad_experiment", metadata={
            "holdout_users": int((sim.ad_experiment["arm"] == "holdout").sum()),
        })
        yield from truth_outputs(sim.truth, sim.position_weights)
        context.log.info(f"{len(sim.events)} events of {len(sim.sessions)} sessions simulated")

    return simulated_sessions


def build_simulated_ad_funnel() -> dg.AssetsDefinition:
    """The ad-funnel simulator's raw tables and truth, one multi-asset (op `simulated_ad_funnel`)."""

    @dg.multi_asset(outs={**raw_outs(domain_tables(AD_FUNNEL)), **TRUTH_OUTS}, group_name="raw", name="simulated_ad_funnel")
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
