"""The seeded sessions-domain simulator: raw contract tables plus the known truth to score against."""

from ml.simulate.sessions import SCENARIOS, SessionsSimulation, SimulationConfig, simulate_sessions
from ml.simulate.structural import (
    AD_EXPERIMENT_EXPOSED,
    BROWSING_EVENTS,
    CONVERSION_EVENTS,
    FUNNEL_EVENTS,
    NEGATIVE_CONTROL_EVENTS,
    BrowsingEvent,
    ConversionLatents,
    ConversionModel,
    position_weight,
)

__all__ = [
    "AD_EXPERIMENT_EXPOSED",
    "BROWSING_EVENTS",
    "CONVERSION_EVENTS",
    "FUNNEL_EVENTS",
    "NEGATIVE_CONTROL_EVENTS",
    "SCENARIOS",
    "BrowsingEvent",
    "ConversionLatents",
    "ConversionModel",
    "SessionsSimulation",
    "SimulationConfig",
    "position_weight",
    "simulate_sessions",
]
