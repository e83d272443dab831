"""Multi-echelon networks: the model, guaranteed-service optimization, decoupling points.

The stochastic-service models and the simulator live beside this package (``ssm``,
``owmr``, ``stockpilot.core.simulation``) and use the same :class:`Network`.

Solvers are imported from their modules (their names match the modules):
``stockpilot.core.network.gsm_tree.gsm_tree`` (exact DP for trees) and
``stockpilot.core.network.gsm_milp.gsm_milp`` / ``optimize_service_times`` (any acyclic
network; importing the package does not import HiGHS).
"""

from __future__ import annotations

from stockpilot.core.network.decoupling import DecouplingPoints, StockRole, decoupling_points
from stockpilot.core.network.gsm_tree import (
    GSMMethod,
    GSMSolution,
    gsm_cost,
    gsm_solution_from_service_times,
)
from stockpilot.core.network.network import (
    DEFAULT_Z,
    Edge,
    Network,
    NetworkArrays,
    Node,
    NodeType,
    network_from_dict,
    network_to_dict,
)
from stockpilot.core.network.willems import willems_network

__all__ = [
    "DEFAULT_Z",
    "DecouplingPoints",
    "Edge",
    "GSMMethod",
    "GSMSolution",
    "Network",
    "NetworkArrays",
    "Node",
    "NodeType",
    "StockRole",
    "decoupling_points",
    "gsm_cost",
    "gsm_solution_from_service_times",
    "network_from_dict",
    "network_to_dict",
    "willems_network",
]
