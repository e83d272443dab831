"""Discrete-time inventory simulation, vectorized across series (and network nodes)."""

from stockpilot.core.simulation.lead_time import LeadTimeDistribution, fit_lead_time
from stockpilot.core.simulation.multi_echelon import (
    AssemblyTopology,
    NetworkSimulationResult,
    NetworkTopology,
    assembly_topology,
    network_depths,
    network_topology,
    simulate_assembly_network,
    simulate_network,
)
from stockpilot.core.simulation.single_echelon import (
    SimulationTraces,
    SingleEchelonResult,
    simulate_single_echelon,
)

__all__ = [
    "AssemblyTopology",
    "LeadTimeDistribution",
    "NetworkSimulationResult",
    "NetworkTopology",
    "SimulationTraces",
    "SingleEchelonResult",
    "assembly_topology",
    "fit_lead_time",
    "network_depths",
    "network_topology",
    "simulate_assembly_network",
    "simulate_network",
    "simulate_single_echelon",
]
