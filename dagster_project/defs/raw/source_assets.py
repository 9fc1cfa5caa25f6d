"""The raw assets of the source JOURNEYLIFT_SOURCE names, chosen when the definitions load, so
the UI shows what will run: the simulator (with its truth table) or a user's contract tables."""

import dagster as dg

from dagster_project.defs.raw.contract_source import build_contract_source
from dagster_project.defs.raw.simulated_sessions import build_simulated_sessions
from dagster_project.sources import journeylift_source


@dg.definitions
def raw_source() -> dg.Definitions:
    source = journeylift_source()
    assets = build_simulated_sessions() if source.kind == "simulator" else build_contract_source(source)
    return dg.Definitions(assets=[assets])
