"""Parse the rows of the Willems (2008) supply-chain files into a :class:`Network`.

The 38 real-world chains of Willems (2008) circulate as CSV files (one row per stage) with
the header ``stage_id,lead_time,max_s_time,cost_rate,risk_pool,ext_demand_mean,
ext_demand_std,ext_demand_thres,up_stages`` where ``up_stages`` repeats ``upstream,
quantity`` pairs over the remaining columns. Graves and Willems' (2000) bulldozer and
battery examples use the same layout. This module turns already-read rows into a model;
opening files belongs to the caller (tests, benchmarks, io).

Mapping (see /work/shared/data/willems2008/SOURCE.md):

* ``lead_time`` -> ``processing_time`` ``T_j`` (the mean stage time);
* ``cost_rate`` is the cost *added* at the stage; the holding cost is
  ``holding_rate * (cost_j + sum_i q_ij * cumulative_cost_i)``;
* ``max_s_time`` -> ``external_outbound_cst`` (blank: no cap);
* ``ext_demand_mean/std`` -> external ``demand_mean``/``demand_sd``;
* ``ext_demand_thres`` is the safety factor ``z`` of a demand stage. A stage without
  external demand takes the largest ``z`` of the demand stages it supplies (directly or
  not), so it protects the most demanding service level it feeds.

Reference: S. P. Willems, "Data Set: Real-World Multi-Echelon Supply Chains Used for
Inventory Optimization", *M&SOM* 10(1):19-23, 2008, doi:10.1287/msom.1070.0176.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stockpilot.core.network.network import DEFAULT_Z, Edge, Network, Node, NodeType
from stockpilot.errors import InvalidDataError, parameter_error

__all__ = ["WILLEMS_COLUMNS", "willems_network"]

WILLEMS_COLUMNS = (
    "stage_id",
    "lead_time",
    "max_s_time",
    "cost_rate",
    "risk_pool",
    "ext_demand_mean",
    "ext_demand_std",
    "ext_demand_thres",
    "up_stages",
)


@dataclass(frozen=True)
class _Stage:
    stage_id: str
    time: float
    cap: float | None
    cost: float
    mean: float | None
    sd: float | None
    z: float | None
    ups: tuple[tuple[str, float], ...]


def _number(text: str, where: str, problems: list[str]) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(f"{where}: {text!r} is not a number.")
        return None
    if not math.isfinite(value):
        problems.append(f"{where}: {text!r} is not finite.")
        return None
    return value


def willems_network(
    rows: Iterable[Sequence[str]], *, holding_rate: float = 1.0, name: str = ""
) -> Network:
    """Build a network from the rows (header first) of a Willems (2008) chain file.

    Parameters
    ----------
    rows
        The file's rows as sequences of strings, e.g. ``csv.reader(handle)``; the first
        row is the header (the second column may be named ``cost`` or ``cost_rate``).
    holding_rate
        Holding cost per unit of cumulative value per period (1 keeps value units).
    name
        Label of the network.

    Returns
    -------
    Network
        Stages in file order; lanes from ``up_stages``; every stage a
        :attr:`NodeType.STAGE`.

    Raises
    ------
    InvalidDataError
        Listing every malformed row, or an invalid network (unknown upstream stage, cycle).

    Examples
    --------
    >>> rows = [
    ...     ["stage_id", "lead_time", "max_s_time", "cost_rate", "risk_pool",
    ...      "ext_demand_mean", "ext_demand_std", "ext_demand_thres", "up_stages"],
    ...     ["Part", "3", "", "10", "2", "", "", ""],
    ...     ["Final", "1", "0", "5", "", "20", "4", "1.645", "Part", "1"],
    ... ]
    >>> net = willems_network(rows)
    >>> [(n.node_id, n.holding_cost, n.z) for n in net.nodes]
    [('Part', 10.0, 1.645), ('Final', 15.0, 1.645)]
    """
    owner = "willems_network"
    if not (isinstance(holding_rate, int | float) and math.isfinite(holding_rate)) or (
        holding_rate <= 0
    ):
        raise parameter_error(owner, "holding_rate", "a finite number > 0", holding_rate)
    iterator = iter(rows)
    header = next(iterator, None)
    if header is None:
        raise InvalidDataError("The Willems chain has no rows; expected a header first.")
    head = [h.strip() for h in header]
    if head[:1] != ["stage_id"] or len(head) < 8:
        raise InvalidDataError(
            f"The Willems chain header must start with {', '.join(WILLEMS_COLUMNS[:8])}. "
            f"Got {head!r}."
        )
    problems: list[str] = []
    stages: list[_Stage] = []
    for line, row in enumerate(iterator, start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        where = f"row {line} ({row[0]!r})"
        if len(row) < 8:
            problems.append(f"{where}: expected at least 8 columns. Got {len(row)}.")
            continue
        stage_time = _number(row[1], f"{where} lead_time", problems)
        cost = _number(row[3], f"{where} cost_rate", problems)
        ups = [cell.strip() for cell in row[8:]]
        while ups and not ups[-1]:
            ups.pop()
        if len(ups) % 2:
            problems.append(f"{where}: up_stages must be (stage, quantity) pairs. Got {ups!r}.")
            ups = ups[:-1]
        pairs: list[tuple[str, float]] = []
        for k in range(0, len(ups), 2):
            qty = _number(ups[k + 1], f"{where} quantity of {ups[k]!r}", problems)
            pairs.append((ups[k], 1.0 if qty is None else qty))
        stages.append(
            _Stage(
                stage_id=row[0].strip(),
                time=0.0 if stage_time is None else stage_time,
                cap=_number(row[2], f"{where} max_s_time", problems),
                cost=0.0 if cost is None else cost,
                mean=_number(row[5], f"{where} ext_demand_mean", problems),
                sd=_number(row[6], f"{where} ext_demand_std", problems),
                z=_number(row[7], f"{where} ext_demand_thres", problems),
                ups=tuple(pairs),
            )
        )
    if problems:
        body = "\n".join(f"  - {p}" for p in problems)
        raise InvalidDataError(f"Willems chain {name!r} has {len(problems)} problem(s):\n{body}")
    edges = tuple(Edge(up, s.stage_id, quantity=qty) for s in stages for up, qty in s.ups)
    # A structural network first (validation, order), then costs and z along the order.
    skeleton = Network(nodes=tuple(Node(s.stage_id) for s in stages), edges=edges, name=name)
    position = skeleton.index
    order = skeleton.topological_order()
    cumulative = [s.cost for s in stages]
    for nid in order:
        j = position[nid]
        for up, qty in stages[j].ups:
            cumulative[j] += qty * cumulative[position[up]]
    z_stage: list[float | None] = [s.z for s in stages]
    for nid in reversed(order):
        j = position[nid]
        zj = z_stage[j]
        if zj is None:
            continue
        for up, _ in stages[j].ups:
            i = position[up]
            current = z_stage[i]
            if stages[i].z is None and (current is None or current < zj):
                z_stage[i] = zj
    demand_z = [s.z for s in stages if s.z is not None]
    network_z = max(demand_z) if demand_z else DEFAULT_Z
    nodes = tuple(
        Node(
            s.stage_id,
            processing_time=s.time,
            holding_cost=holding_rate * cumulative[j],
            demand_mean=s.mean or 0.0,
            demand_sd=s.sd or 0.0,
            external_outbound_cst=s.cap,
            node_type=NodeType.STAGE,
            z=z_stage[j],
        )
        for j, s in enumerate(stages)
    )
    return Network(nodes=nodes, edges=edges, z=network_z, name=name)
