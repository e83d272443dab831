"""Multi-echelon networks: the model, guaranteed-service optimization, decoupling points.

The stochastic-service models and the simulator live beside this package (``ssm``,
``owmr``, ``stockpilot.core.simulation``) and use the same :class:`Network`.
"""

from __future__ import annotations

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

__all__ = [
    "DEFAULT_Z",
    "Edge",
    "Network",
    "NetworkArrays",
    "Node",
    "NodeType",
    "network_from_dict",
    "network_to_dict",
]
