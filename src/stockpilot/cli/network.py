"""``stockpilot network ...``: optimise safety-stock placement on a network JSON file, and
export the networks a planning run built from the store as such files."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from stockpilot.core.network.gsm_tree import GSMSolution
from stockpilot.cli.common import native_stdout_to_stderr, print_error
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
    print_error(message)
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


def _file_name(name: str, taken: set[str]) -> str:
    """A portable file name for network ``name`` (unique within ``taken``)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "network"
    candidate, k = stem, 2
    while candidate.lower() in taken:
        candidate, k = f"{stem}_{k}", k + 1
    taken.add(candidate.lower())
    return f"{candidate}.json"


def export(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write one network JSON file per network.")
    ],
    run_id: Annotated[
        int | None, typer.Option("--run", help="Run id. Default: the published plan's run.")
    ] = None,
    item: Annotated[
        str | None,
        typer.Option(help="Only the network that holds this item (its product family, if any)."),
    ] = None,
) -> None:
    """Write the networks a planning run built from the store as network JSON files.

    One file per item network and per product family (items joined by bills of
    material, with the BOM quantities on their lanes), each readable by
    `stockpilot network optimize`.
    """
    from stockpilot.cli.common import settings
    from stockpilot.core.network import network_to_dict
    from stockpilot.engine.network import supply_networks_from_inputs
    from stockpilot.services import runs
    from stockpilot.store.db import open_store

    try:
        config = settings()
        factory = open_store(config.resolved_database_url())
        chosen = runs.published_run_id(factory) if run_id is None else run_id
        if chosen is None:
            raise _fail("No plan is published yet; run `stockpilot plan` or name a run with --run.")
        runs.get_run(factory, chosen)  # a clear error for an unknown run
        placement = runs.read_artifact(factory, chosen, "network")
        if placement is None or placement.height == 0:
            raise _fail(f"Run {chosen} has no network placement (did its network step run?).")
        built = supply_networks_from_inputs(placement)
    except StockpilotError as exc:
        raise _fail(str(exc)) from None
    networks = [
        *(
            (net, (iid,))
            for iid, net in zip(built.items.item_ids, built.items.networks, strict=True)
        ),
        *((fam.network, fam.item_ids) for fam in built.families),
    ]
    if item is not None:
        networks = [(net, items) for net, items in networks if item in items]
        if not networks:
            raise _fail(f"Run {chosen} has no network holding item {item!r}.")
    out.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    for net, _ in networks:
        path = out / _file_name(net.name, taken)
        path.write_text(json.dumps(network_to_dict(net), indent=2), encoding="utf-8")
    _out.print(
        f"wrote {len(networks)} network file(s) of run {chosen} to {out} "
        f"({len(built.families)} product famil{'y' if len(built.families) == 1 else 'ies'} "
        f"in the run)",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add the ``network`` command group (``network optimize``, ``network export``)."""
    group = typer.Typer(
        help="Multi-echelon networks: safety-stock placement.", no_args_is_help=True
    )
    group.command("optimize")(optimize)
    group.command("export")(export)
    app.add_typer(group, name="network")
