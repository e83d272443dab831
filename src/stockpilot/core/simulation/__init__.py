"""Discrete-time inventory simulation, vectorized across series (and network nodes)."""

from stockpilot.core.simulation.multi_echelon import (
    NetworkSimulationResult,
    NetworkTopology,
    network_depths,
    network_topology,
    simulate_network,
)
from stockpilot.core.simulation.single_echelon import (
    SimulationTraces,
    SingleEchelonResult,
    simulate_single_echelon,
)

__all__ = [
    "NetworkSimulationResult",
    "NetworkTopology",
    "SimulationTraces",
    "SingleEchelonResult",
    "network_depths",
    "network_topology",
    "simulate_network",
    "simulate_single_echelon",
]
