"""The raw assets of the source JOURNEYLIFT_SOURCE names, chosen when the definitions load, so
the UI shows what will run: the simulator (with its truth table) or a user's contract tables."""

import dagster as dg

from dagster_project.defs.raw.contract_source import build_contract_source
from dagster_project.defs.raw.simulated_ad_funnel import build_simulated_ad_funnel
from dagster_project.defs.raw.simulated_event_dates import build_simulated_event_dates
from dagster_project.defs.raw.simulated_sessions import build_simulated_sessions
from dagster_project.sources import AD_FUNNEL, journeylift_source


@dg.definitions
def raw_source() -> dg.Definitions:
    source = journeylift_source()
    if source.kind != "simulator":
        assets = build_contract_source(source)
    elif source.domain == AD_FUNNEL:
        assets = build_simulated_ad_funnel()
    else:
        # the daily refresh loads the simulation date by date (a partitioned asset)
        return dg.Definitions(assets=[build_simulated_sessions(), build_simulated_event_dates()])
    return dg.Definitions(assets=[assets])
