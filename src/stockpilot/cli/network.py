"""``stockpilot network ...``: optimise safety-stock placement on a network JSON file."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from stockpilot.core.network.gsm_tree import GSMSolution
from stockpilot.cli.common import native_stdout_to_stderr
from stockpilot.errors import StockpilotError

__all__ = ["register", "solution_to_dict"]

_err = Console(stderr=True)
_out = Console()


class GSMChoice(StrEnum):
    AUTO = "auto"
    TREE = "tree"
    MILP = "milp"


def solution_to_dict(solution: GSMSolution, *, name: str = "") -> dict[str, Any]:
    from stockpilot.core.network.decoupling import decoupling_points

    """The result JSON written by ``stockpilot network optimize`` (see docs/network.md)."""
    points = decoupling_points(solution)
    nodes = [
        {
            "id": nid,
            "committed_service_time": float(solution.committed_service_time[k]),
            "inbound_service_time": float(solution.inbound_service_time[k]),
            "net_lead_time": float(solution.net_lead_time[k]),
            "safety_stock": float(solution.safety_stock[k]),
            "base_stock": float(solution.base_stock[k]),
            "holding_cost": float(solution.holding_cost[k]),
            "role": points.role[k].value,
        }
        for k, nid in enumerate(solution.node_ids)
    ]
    return {
        "network": name,
        "method": solution.method.value,
        "optimal": solution.optimal,
        "mip_gap": solution.mip_gap,
        "total_cost": solution.total_cost,
        "decoupling_points": list(points.stocking_nodes),
        "nodes": nodes,
    }


def _fail(message: str) -> typer.Exit:
    _err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def optimize(
    network: Annotated[
        Path, typer.Option("--network", help="Network JSON file (see docs/network.md).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the result JSON.")],
    method: Annotated[
        GSMChoice, typer.Option(help="auto: tree DP for trees, MILP otherwise.")
    ] = GSMChoice.AUTO,
    time_limit: Annotated[
        float, typer.Option(help="MILP time limit in seconds.", min=0.001)
    ] = 600.0,
) -> None:
    """Place safety stock with the guaranteed-service model and write per-node results."""
    # The solvers load on use only, so `stockpilot --help` stays quick.
    from stockpilot.core.network import network_from_dict
    from stockpilot.core.network.decoupling import decoupling_points
    from stockpilot.core.network.gsm_milp import gsm_milp, optimize_service_times
    from stockpilot.core.network.gsm_tree import gsm_tree

    try:
        data = json.loads(network.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(f"Network file {str(network)!r} does not exist.") from None
    except json.JSONDecodeError as exc:
        raise _fail(f"Network file {str(network)!r} is not valid JSON: {exc}.") from None
    try:
        net = network_from_dict(data)
        # HiGHS prints its licence banner on fd 1, which would corrupt piped output
        with (
            _err.status(f"Optimising {len(net.nodes)} nodes ({method.value})..."),
            native_stdout_to_stderr(),
        ):
            if method is GSMChoice.TREE:
                sol = gsm_tree(net)
            elif method is GSMChoice.MILP:
                sol = gsm_milp(net, time_limit=time_limit)
            elif net.is_tree():
                sol = optimize_service_times(net)
            else:
                sol = gsm_milp(net, time_limit=time_limit)
    except StockpilotError as exc:
        raise _fail(str(exc)) from None
    out.write_text(json.dumps(solution_to_dict(sol, name=net.name), indent=2), encoding="utf-8")
    points = decoupling_points(sol)
    _out.print(
        f"{net.name or network.name}: total cost {sol.total_cost:,.2f} ({sol.method.value}, "
        f"{'optimal' if sol.optimal else f'gap {sol.mip_gap:.2%}'}); "
        f"safety stock at {len(points.stocking_nodes)} of {len(net.nodes)} nodes -> {out}",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add the ``network`` command group (``network optimize``) to ``app``."""
    group = typer.Typer(
        help="Multi-echelon networks: safety-stock placement.", no_args_is_help=True
    )
    group.command("optimize")(optimize)
    app.add_typer(group, name="network")
