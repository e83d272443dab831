"""Benchmark: guaranteed-service optimisation, stockpilot vs stockpyl, and the Willems chains.

1. Random spanning trees of 10 to 1,000 nodes: stockpilot's tree DP against stockpyl 1.0.2's
   ``gsm_tree.optimize_committed_service_times`` on identical instances (same optimum is
   checked). stockpyl runs in /work/main/.venv-peers (``make bench-env``, numpy<2) through a
   subprocess that returns JSON; its network is built through the cheapest path we found
   (nodes and links created with the network's ``_currently_building`` flag set, derived
   attributes built once), and its build time is reported apart from its solve time.
   stockpyl is skipped above ``--stockpyl-max-nodes`` or when a solve exceeds
   ``--stockpyl-timeout`` seconds.
2. The 38 Willems (2008) chains (none is a tree; ``--chains`` picks some) by ``gsm_milp``
   (Lagrangian forest bound and branch-and-bound, then the MILP): time, proven gap, cost, and
   the ratio to the costs reported by Humair and Willems (2011) (unverified anchors).
3. If ``benchmarks/bench_network_stochastic.py`` exists, its ``main()`` runs last.

Usage: ``.venv/bin/python benchmarks/bench_network.py [--sizes 10,100,1000]
[--willems-time-limit 60] [--chains 1-38] [--skip-willems] [--only-willems]``.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from stockpilot.core.network import Edge, Network, Node
from stockpilot.core.network.gsm_milp import gsm_milp
from stockpilot.core.network.gsm_tree import gsm_tree
from stockpilot.core.network.willems import willems_network

ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
WILLEMS = ROOT.parent / "shared" / "data" / "willems2008"

PEER_SCRIPT = r"""
import json, sys, time
from stockpyl.supply_chain_network import SupplyChainNetwork
from stockpyl.supply_chain_node import SupplyChainNode
from stockpyl.demand_source import DemandSource
from stockpyl.gsm_tree import optimize_committed_service_times

spec = json.load(sys.stdin)
t0 = time.perf_counter()
net = SupplyChainNetwork()
net._currently_building = True
nodes = []
for k, nd in enumerate(spec["nodes"]):
    node = SupplyChainNode(index=k)
    node.network = net
    node.processing_time = nd["T"]
    node.external_inbound_cst = 0
    node.external_outbound_cst = nd["cap"]
    node.local_holding_cost = nd["h"]
    node.demand_bound_constant = spec["z"]
    if nd["sd"] > 0:
        node.demand_source = DemandSource(type="N", mean=nd["mu"], standard_deviation=nd["sd"])
    else:
        node.demand_source = DemandSource(type=None)
    nodes.append(node)
    net._nodes.append(node)
    for prod in node.products:
        if not isinstance(prod, int):
            prod.network = net
for u, d in spec["edges"]:
    nodes[u].add_successor(nodes[d])
    nodes[d].add_predecessor(nodes[u])
net._currently_building = False
net._build_node_attributes()
net._build_product_attributes()
t1 = time.perf_counter()
cst, cost = optimize_committed_service_times(net)
t2 = time.perf_counter()
print(json.dumps({"build": t1 - t0, "solve": t2 - t1, "cost": cost,
                  "cst": {str(k): v for k, v in cst.items()}}))
"""


def random_tree(seed: int, n: int) -> Network:
    """Random spanning tree (lanes either way), integer times 1-5, demand at sinks."""
    rng = np.random.default_rng(seed)
    edges: list[tuple[int, int]] = []
    for j in range(1, n):
        i = int(rng.integers(max(0, j - 50), j))
        edges.append((i, j) if rng.random() < 0.8 else (j, i))
    outdeg = np.zeros(n, dtype=int)
    for u, _ in edges:
        outdeg[u] += 1
    nodes = tuple(
        Node(
            f"n{k}",
            processing_time=int(rng.integers(1, 6)),
            holding_cost=float(np.round(rng.uniform(0.5, 5.0), 3)),
            demand_mean=float(np.round(rng.uniform(10, 100), 2)) if outdeg[k] == 0 else 0.0,
            demand_sd=float(np.round(rng.uniform(1, 30), 2)) if outdeg[k] == 0 else 0.0,
            external_outbound_cst=float(rng.integers(0, 3)) if outdeg[k] == 0 else None,
        )
        for k in range(n)
    )
    return Network(nodes=nodes, edges=tuple(Edge(f"n{u}", f"n{d}") for u, d in edges), z=1.645)


def peer_spec(net: Network) -> dict[str, object]:
    big = 10**6
    return {
        "z": net.z,
        "nodes": [
            {
                "T": int(nd.processing_time),
                "h": nd.holding_cost,
                "mu": nd.demand_mean,
                "sd": nd.demand_sd,
                "cap": big if nd.external_outbound_cst is None else int(nd.external_outbound_cst),
            }
            for nd in net.nodes
        ],
        "edges": [[net.index[e.upstream], net.index[e.downstream]] for e in net.edges],
    }


def run_stockpyl(net: Network, timeout: float) -> dict[str, float] | str:
    if not PEER_PYTHON.exists():
        return "no .venv-peers (run `make bench-env`)"
    try:
        done = subprocess.run(
            [str(PEER_PYTHON), "-c", PEER_SCRIPT],
            input=json.dumps(peer_spec(net)),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"did not finish within {timeout:.0f} s"
    if done.returncode != 0:
        return "failed: " + done.stderr.strip().splitlines()[-1]
    data: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


def bench_trees(sizes: list[int], *, stockpyl_max: int, stockpyl_timeout: float) -> None:
    print("\n## GSM on random trees (tree DP) vs stockpyl 1.0.2")
    print(
        "| nodes | stockpilot s | stockpyl build s | stockpyl solve s | speed-up (solve) | same optimum |"
    )
    print("|---:|---:|---:|---:|---:|---|")
    gsm_tree(random_tree(0, 10))  # warm-up (imports)
    for n in sizes:
        net = random_tree(n, n)
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            sol = gsm_tree(net)
            runs.append(time.perf_counter() - t0)
        ours = min(runs)
        if n <= stockpyl_max:
            peer = run_stockpyl(net, stockpyl_timeout)
        else:
            peer = f"skipped (> {stockpyl_max} nodes)"
        if isinstance(peer, dict):
            same = abs(peer["cost"] - sol.total_cost) <= 1e-6 * max(1.0, sol.total_cost)
            print(
                f"| {n} | {ours:.4f} | {peer['build']:.2f} | {peer['solve']:.2f} | "
                f"{peer['solve'] / ours:,.0f}x | {'yes' if same else 'NO'} "
                f"({sol.total_cost:.4f} vs {peer['cost']:.4f}) |"
            )
        else:
            print(f"| {n} | {ours:.4f} | - | - | - | stockpyl: {peer} |")
        sys.stdout.flush()


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def bench_willems(time_limit: float, chains: list[int]) -> None:
    print(
        f"\n## Willems (2008) chains by gsm_milp (Lagrangian forest bound, branch-and-bound, "
        f"HiGHS MILP with 1 thread; limit {time_limit:.0f} s each)"
    )
    print(f"load average at start: {_load()}")
    if not WILLEMS.exists():
        print(f"{WILLEMS} not found: skipped")
        return
    reported = [float(x) for x in (WILLEMS / "reported_optimal_cost.txt").read_text().split()]
    print(
        "| chain | stages | lanes | seconds | proven optimal | gap | cost (rate 1) | x0.35 / reported |"
    )
    print("|---:|---:|---:|---:|---|---:|---:|---:|")
    solved = 0
    total = 0.0
    for k in chains:
        with (WILLEMS / f"willems_{k:02d}.csv").open(newline="") as handle:
            net = willems_network(csv.reader(handle), name=f"willems_{k:02d}")
        t0 = time.perf_counter()
        sol = gsm_milp(net, time_limit=time_limit)
        sec = time.perf_counter() - t0
        total += sec
        solved += sol.optimal
        print(
            f"| {k} | {len(net.nodes)} | {len(net.edges)} | {sec:.2f} | "
            f"{'yes' if sol.optimal else 'no'} | {sol.mip_gap:.2e} | {sol.total_cost:,.0f} | "
            f"{0.35 * sol.total_cost / reported[k - 1]:.3f} |"
        )
        sys.stdout.flush()
    print(
        f"\nproven optimal: {solved}/{len(chains)}, total {total:.1f} s, "
        f"load average {_load()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def _chain_list(text: str) -> list[int]:
    """``"1-38"`` or ``"18,19,34"`` (ranges and numbers mixed) to chain numbers 1-38."""
    chains: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        chains.extend(range(int(first), int(last or first) + 1))
    bad = [k for k in chains if not 1 <= k <= 38]
    if bad:
        raise SystemExit(f"--chains: the Willems chains are numbered 1-38; got {bad}")
    return chains


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,100,200,300,400,1000")
    parser.add_argument("--stockpyl-max-nodes", type=int, default=400)
    parser.add_argument("--stockpyl-timeout", type=float, default=120.0)
    parser.add_argument("--willems-time-limit", type=float, default=60.0)
    parser.add_argument(
        "--chains", default="1-38", help="Willems chains to run, e.g. 1-38 or 18,19,34"
    )
    parser.add_argument("--skip-willems", action="store_true")
    parser.add_argument("--only-willems", action="store_true")
    args = parser.parse_args()
    print(f"# bench_network  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, python {platform.python_version()}"
    )
    chains = _chain_list(args.chains)
    if args.only_willems:
        bench_willems(args.willems_time_limit, chains)
        return
    bench_trees(
        [int(x) for x in args.sizes.split(",")],
        stockpyl_max=args.stockpyl_max_nodes,
        stockpyl_timeout=args.stockpyl_timeout,
    )
    if not args.skip_willems:
        bench_willems(args.willems_time_limit, chains)
    stochastic = Path(__file__).with_name("bench_network_stochastic.py")
    if stochastic.exists():
        spec = importlib.util.spec_from_file_location("bench_network_stochastic", stochastic)
        if spec and spec.loader:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.argv = [str(stochastic)]
            module.main()


if __name__ == "__main__":
    main()
