"""Discrete-time inventory simulation, vectorized across series (and network nodes)."""

from stockpilot.core.simulation.single_echelon import (
    SimulationTraces,
    SingleEchelonResult,
    simulate_single_echelon,
)

__all__ = ["SimulationTraces", "SingleEchelonResult", "simulate_single_echelon"]
