"""The raw assets of the source the settings name, so the UI shows what will run: the simulator
(with its truth tables; the sessions domain partitioned by event date) or a user's contract tables."""

import dagster as dg

from dagster_project.defs.raw.contract_source import build_contract_source
from dagster_project.defs.raw.simulators import build_simulated_ad_funnel, build_simulated_sessions
from dagster_project.settings import Source
from ml.contract import AD_FUNNEL


def raw_assets(source: Source, event_dates: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    if source.kind != "simulator":
        return [build_contract_source(source)]
    if source.domain == AD_FUNNEL:
        return [build_simulated_ad_funnel()]
    return [build_simulated_sessions(event_dates)]
