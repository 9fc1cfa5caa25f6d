"""Raw ad-funnel contract tables from journeylift's simulator (JOURNEYLIFT_SOURCE=simulator:ad_funnel).

Built by `build_simulated_ad_funnel()` and chosen at definitions load (source_assets.py).
The sessions domain's raw tables left by an earlier run are dropped: this source brings
only the ad-funnel domain, and dbt would otherwise screen both.
"""

import dagster as dg

from dagster_project.outputs import publish_table
from dagster_project.settings import OUTPUT_SCHEMA, dbt_vars
from dagster_project.sources import AD_FUNNEL, SESSIONS, domain_tables
from dagster_project.warehouse import Warehouse
from ml.simulate.ad_funnel import AdFunnelConfig, simulate_ad_funnel

RAW_SCHEMA = "raw"


class AdFunnelSimulatorConfig(dg.Config):
    """Size and seed of the simulated ad-funnel domain."""

    n_users: int = 4000
    n_products: int = 60
    seed: int = 0


def build_simulated_ad_funnel() -> dg.AssetsDefinition:
    """The ad-funnel simulator's raw tables and its truth as one multi-asset (op `simulated_ad_funnel`)."""
    specs = [
        dg.AssetSpec([RAW_SCHEMA, table], description=f"Raw `{table}` (ad-funnel domain contract), simulated.")
        for table in domain_tables(AD_FUNNEL)
    ] + [
        dg.AssetSpec(
            [OUTPUT_SCHEMA, "simulator_truth"],
            description="True removal effects of impressions and clicks from the simulator's structural model.",
        ),
        dg.AssetSpec(
            [OUTPUT_SCHEMA, "simulator_position_weights"],
            description="The simulator's true position weights (all 1: positions carry no effect in this domain).",
        ),
    ]
    return dg.multi_asset(specs=specs, group_name="raw", name="simulated_ad_funnel")(simulated_ad_funnel)


def simulated_ad_funnel(context: dg.AssetExecutionContext, config: AdFunnelSimulatorConfig, warehouse: Warehouse):
    """Simulate sponsored-product journeys (user x product) with a known structural model and
    load them as the raw ad-funnel tables, with the true effect of removing each ad event."""
    sim = simulate_ad_funnel(
        AdFunnelConfig(
            n_users=config.n_users,
            n_products=config.n_products,
            seed=config.seed,
            attribution_window_days=int(dbt_vars()["attribution_window_days"]),
        )
    )
    warehouse.drop_tables(RAW_SCHEMA, domain_tables(SESSIONS))
    for table in domain_tables(AD_FUNNEL):
        frame = getattr(sim, table)
        warehouse.write_table(RAW_SCHEMA, table, frame)
        metadata = {"rows": len(frame)}
        if table == "impressions":
            metadata |= {
                "users": int(frame["user_id"].nunique()),
                "journeys": len(sim.journeys),
                "conversion_rate": float(sim.journeys["converted"].mean()),
                "preview": dg.MetadataValue.md(frame.head(10).to_markdown(index=False)),
            }
        context.log.info(f"{table}: {len(frame)} rows simulated")
        yield dg.MaterializeResult(asset_key=[RAW_SCHEMA, table], metadata=metadata)
    yield dg.MaterializeResult(
        asset_key=[OUTPUT_SCHEMA, "simulator_truth"], metadata=publish_table(warehouse, "simulator_truth", sim.truth)
    )
    yield dg.MaterializeResult(
        asset_key=[OUTPUT_SCHEMA, "simulator_position_weights"],
        metadata=publish_table(warehouse, "simulator_position_weights", sim.position_weights),
    )
