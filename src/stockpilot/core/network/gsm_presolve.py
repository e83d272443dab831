"""Exact presolve of the guaranteed-service model: stages that carry no cost quote 0.

A stage ``j`` whose safety-stock weight ``h_j z_j sigma_j`` is 0 (no demand downstream of
it, or no holding cost) costs nothing whatever its net lead time. Some optimum has
``S_j = 0`` there:

* ``S_j = 0`` is feasible for ``j`` itself, since ``tau_j = SI_j + T_j - 0 >= 0`` for any
  ``SI_j >= 0``, and ``0`` respects every cap;
* lowering ``S_j`` only loosens its customers' lanes ``SI_k >= S_j + L_jk``, so every
  other stage keeps its service times (or may lower its ``SI``, which never costs more).

With ``S_j = 0`` fixed, the lanes into ``j`` bind nothing (``SI_j`` is free above its
suppliers' quotes and ``j`` pays nothing for it), and each lane out of ``j`` only says
``SI_k >= L_jk``: an external inbound time. So the presolved network keeps the lanes
between costly stages only, raises each costly customer's ``SI^ext`` to the lead times of
the lanes from zero-weight suppliers, and caps ``S_j`` at 0 on zero-weight stages (which
are then isolated). Its optimum equals the original one, every lower bound on it bounds the
original, and any ``S`` feasible in it is feasible in the original network with the same
cost (the inbound times of the costly stages are the same in both).

On the Willems (2008) chains this cuts lanes by the hundred: chain 33 has 269 zero-weight
stages (no demand downstream, or no holding cost) and keeps 27 lanes beyond a spanning
forest of the remaining lanes, instead of 34.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

from stockpilot.core.network.network import NetworkArrays, _undirected_acyclic


def _drop_zero_weight_stages(arr: NetworkArrays, weight: NDArray[np.float64]) -> NetworkArrays:
    """The presolved network (same stages and weights): see the module docstring.

    ``weight`` is ``h_j z_j sigma_j`` per stage; stages with weight 0 get ``S_j <= 0`` and
    no lanes. The result's ``is_tree`` says whether the lanes left form a forest.
    """
    zero = weight <= 0
    if not zero.any():
        return arr
    up, down = arr.edge_upstream, arr.edge_downstream
    kept = ~(zero[up] | zero[down])
    ext_in = arr.external_inbound_cst.copy()
    into_costly = zero[up] & ~zero[down]
    np.maximum.at(ext_in, down[into_costly], arr.edge_lead_time[into_costly])
    cap = np.where(zero, 0.0, arr.external_outbound_cst)
    return dataclasses.replace(
        arr,
        external_inbound_cst=ext_in,
        external_outbound_cst=cap,
        edge_upstream=up[kept],
        edge_downstream=down[kept],
        edge_quantity=arr.edge_quantity[kept],
        edge_lead_time=arr.edge_lead_time[kept],
        is_tree=_undirected_acyclic(arr.n_nodes, (up[kept], down[kept])),
    )
