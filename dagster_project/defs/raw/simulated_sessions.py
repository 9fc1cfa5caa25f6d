"""Raw contract tables from journeylift's own simulator (JOURNEYLIFT_SOURCE=simulator, the default).

Built by `build_simulated_sessions()` and chosen at definitions load (source_assets.py),
so the asset exists only when the simulator is the source.
"""

import dagster as dg

from dagster_project.outputs import publish_table
from dagster_project.settings import OUTPUT_SCHEMA
from dagster_project.sources import AD_FUNNEL, domain_tables
from dagster_project.warehouse import Warehouse
from ml.simulate import SimulationConfig, simulate_sessions


class SimulatorConfig(dg.Config):
    """Size and seed of the simulated sessions domain."""

    n_users: int = 5000
    seed: int = 0
    holdout_share: float = 0.1  # users in the randomized ad holdout (0: no experiment)


def build_simulated_sessions() -> dg.AssetsDefinition:
    """The simulator's raw tables and its truth as one multi-asset (op `simulated_sessions`)."""
    specs = [
        dg.AssetSpec(["raw", "events"], description="Raw app events (sessions domain contract)."),
        dg.AssetSpec(["raw", "dimension_store"], description="Raw store dimension."),
        dg.AssetSpec(
            ["raw", "ad_experiment"], description="Randomized ad holdout: user_id, arm (optional contract table)."
        ),
        dg.AssetSpec(
            [OUTPUT_SCHEMA, "simulator_truth"],
            description="True removal effects from the simulator's structural model.",
        ),
        dg.AssetSpec(
            [OUTPUT_SCHEMA, "simulator_position_weights"],
            description="The simulator's true position weights w(position) (position, weight).",
        ),
    ]
    return dg.multi_asset(specs=specs, group_name="raw", name="simulated_sessions")(simulated_sessions)


def simulated_sessions(context: dg.AssetExecutionContext, config: SimulatorConfig, warehouse: Warehouse):
    """Simulate users' sessions with a known structural model and load them as the raw tables.

    The truth table holds, for each intervention, the mean effect on the conversion
    probability computed with each session's latent intent, so every attribution
    downstream can be scored against it.
    """
    sim = simulate_sessions(
        SimulationConfig(n_users=config.n_users, seed=config.seed, holdout_share=config.holdout_share)
    )
    warehouse.drop_tables("raw", domain_tables(AD_FUNNEL))  # a stale ad-funnel run's tables
    warehouse.write_table("raw", "events", sim.events)
    warehouse.write_table("raw", "dimension_store", sim.dimension_store)
    warehouse.write_table("raw", "ad_experiment", sim.ad_experiment)
    converted_share = float(sim.sessions["converted"].mean())
    yield dg.MaterializeResult(
        asset_key=["raw", "events"],
        metadata={
            "rows": len(sim.events),
            "users": int(sim.events["user_id"].nunique()),
            "sessions": len(sim.sessions),
            "conversion_rate": converted_share,
            "null_session_id_share": float(sim.events["session_id"].isna().mean()),
            "preview": dg.MetadataValue.md(sim.events.head(10).to_markdown(index=False)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=["raw", "dimension_store"], metadata={"rows": len(sim.dimension_store)}
    )
    yield dg.MaterializeResult(
        asset_key=["raw", "ad_experiment"],
        metadata={
            "rows": len(sim.ad_experiment),
            "holdout_users": int((sim.ad_experiment["arm"] == "holdout").sum()),
        },
    )
    yield dg.MaterializeResult(
        asset_key=[OUTPUT_SCHEMA, "simulator_truth"],
        metadata=publish_table(warehouse, "simulator_truth", sim.truth),
    )
    yield dg.MaterializeResult(
        asset_key=[OUTPUT_SCHEMA, "simulator_position_weights"],
        metadata=publish_table(warehouse, "simulator_position_weights", sim.position_weights),
    )
