"""Decoupling points: which stages hold safety stock under a guaranteed-service solution.

A stage with a positive net lead time ``tau_j = SI_j + T_j - S_j`` holds safety stock and
decouples its customers from its suppliers' lead times: it is a *decoupling point* (an
inventory buffer, the push/pull boundary). A stage with ``tau_j = 0`` quotes exactly the
time it needs (``S_j = SI_j + T_j``) and works *flow-through*: it builds or ships to order,
pulled by the decoupling points downstream. Graves and Willems (2000), section 5, read
their optimal solutions this way; Snyder and Shen (2019), section 6.3.

The result is what the policy engine consumes: per stage a base-stock (order-up-to)
level, the safety stock and the net replenishment time ``tau_j`` over which it protects.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from stockpilot.core.network.gsm_tree import GSMSolution
from stockpilot.errors import parameter_error

__all__ = ["DecouplingPoints", "StockRole", "decoupling_points", "stock_roles"]


class StockRole(StrEnum):
    """Role of a stage in the push/pull split."""

    DECOUPLING = "decoupling"  # holds safety stock (tau > 0)
    FLOW_THROUGH = "flow_through"  # no safety stock; pulled by downstream buffers


@dataclass(frozen=True)
class DecouplingPoints:
    """Stocking decision per stage (arrays follow ``node_ids``).

    Attributes
    ----------
    role
        :class:`StockRole` per stage.
    committed_service_time, net_lead_time, safety_stock, base_stock
        Copied from the :class:`GSMSolution` (``S_j``, ``tau_j``, ``z sigma sqrt(tau)``,
        ``mu tau + z sigma sqrt(tau)``).
    """

    node_ids: tuple[str, ...]
    role: tuple[StockRole, ...]
    committed_service_time: NDArray[np.float64]
    net_lead_time: NDArray[np.float64]
    safety_stock: NDArray[np.float64]
    base_stock: NDArray[np.float64]

    @property
    def stocking_nodes(self) -> tuple[str, ...]:
        """Ids of the decoupling points (stages holding safety stock)."""
        return tuple(
            nid
            for nid, r in zip(self.node_ids, self.role, strict=True)
            if r is StockRole.DECOUPLING
        )

    @property
    def flow_through_nodes(self) -> tuple[str, ...]:
        """Ids of stages that hold no safety stock."""
        return tuple(
            nid
            for nid, r in zip(self.node_ids, self.role, strict=True)
            if r is StockRole.FLOW_THROUGH
        )


def stock_roles(net_lead_time: NDArray[np.float64], tolerance: float = 1e-9) -> NDArray[np.str_]:
    """:class:`StockRole` value per net lead time (any shape): ``decoupling`` where
    ``tau > tolerance``, ``flow_through`` elsewhere."""
    if not (isinstance(tolerance, int | float) and tolerance >= 0):
        raise parameter_error("decoupling_points", "tolerance", "a number >= 0", tolerance)
    return np.where(
        np.asarray(net_lead_time) > tolerance,
        StockRole.DECOUPLING.value,
        StockRole.FLOW_THROUGH.value,
    )


def decoupling_points(solution: GSMSolution, *, tolerance: float = 1e-9) -> DecouplingPoints:
    """Classify every stage of a GSM solution as decoupling point or flow-through.

    Parameters
    ----------
    solution
        Result of :func:`~stockpilot.core.network.gsm_tree.gsm_tree` or
        :func:`~stockpilot.core.network.gsm_milp.gsm_milp`.
    tolerance
        Net lead times at or below this count as zero.

    Examples
    --------
    >>> from stockpilot.core.network import Edge, Network, Node
    >>> from stockpilot.core.network.gsm_tree import gsm_tree
    >>> net = Network(
    ...     nodes=(Node("plant", processing_time=2, holding_cost=1.0),
    ...            Node("store", processing_time=1, holding_cost=2.0, demand_sd=3.0,
    ...                 external_outbound_cst=0)),
    ...     edges=(Edge("plant", "store"),), z=1.0)
    >>> decoupling_points(gsm_tree(net)).stocking_nodes
    ('plant', 'store')
    """
    roles = tuple(StockRole(r) for r in stock_roles(solution.net_lead_time, tolerance).tolist())
    return DecouplingPoints(
        node_ids=solution.node_ids,
        role=roles,
        committed_service_time=solution.committed_service_time,
        net_lead_time=solution.net_lead_time,
        safety_stock=solution.safety_stock,
        base_stock=solution.base_stock,
    )
