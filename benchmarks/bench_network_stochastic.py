"""Benchmark: serial stochastic-service model and simulation against stockpyl 1.0.2.

1. Serial SSM (Chen-Zheng exact recursion) on the four Shang and Song (2003) Table 1
   instances quoted by stockpyl's tests: our optimal cost and levels, stockpyl's, and the
   published figure (3 decimals), with solve times.
2. Snyder and Shen (2019) Example 6.1 (normal demand): cost, levels and time, both tools.
3. A 30-stage serial chain with normal demand: solve time (stockpyl only with --peer-30).
4. Simulation throughput on the Example 6.1 three-stage chain (base-stock levels 6.49,
   5.53, 10.69): stockpyl's simulator against ours, one chain and a batch of replications,
   in node-periods per second.

stockpyl needs numpy<2, so it runs in .venv-peers (``make bench-env``) through a
subprocess that returns JSON, in the same run. Results go to docs/benchmarks/simulation.md.

Run: .venv/bin/python benchmarks/bench_network_stochastic.py [--peer-30] [--sim-periods 500]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from stockpilot.core.network.ssm import serial_base_stock_levels
from stockpilot.core.simulation import simulate_network, simulate_single_echelon

ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
CARPARTS = ROOT.parent / "shared" / "data" / "carparts" / "demand_monthly.csv"

SHANG_SONG = [  # row, echelon h (stage 1 first), p, published optimal cost
    (1, [0.25, 0.25, 0.25, 0.25], 9.0, 12.688),
    (9, [0.25, 2.5, 2.5, 0.25], 9.0, 53.008),
    (17, [0.25, 0.25, 0.25, 0.25], 99.0, 16.206),
    (25, [0.25, 2.5, 2.5, 0.25], 99.0, 74.564),
]
THIRTY_H = [round(0.05 + 0.45 * i / 29, 6) for i in range(30)]  # stage 1 first
EXAMPLE_6_1_LOCAL = [6.49, 5.53, 10.69]

PEER_SCRIPT = r"""
import json, sys, time
import numpy as np
from stockpyl.instances import load_instance
from stockpyl.sim import simulation
from stockpyl.ssm_serial import optimize_base_stock_levels
from stockpyl.supply_chain_network import serial_system

task = json.loads(sys.argv[1])
out = {}
if task["what"] == "shang_song":
    rows = []
    for row in task["rows"]:
        net = load_instance("shang_song_%d" % row)
        start = time.perf_counter()
        levels, cost = optimize_base_stock_levels(network=net, S=None, plots=False)
        rows.append({"row": row, "cost": float(cost), "seconds": time.perf_counter() - start,
                     "levels": [float(levels[k]) for k in sorted(levels)]})
    out["rows"] = rows
elif task["what"] == "example_6_1":
    net = load_instance("example_6_1")
    start = time.perf_counter()
    levels, cost = optimize_base_stock_levels(network=net, S=None, plots=False)
    out = {"cost": float(cost), "seconds": time.perf_counter() - start,
           "levels": [float(levels[k]) for k in sorted(levels)]}
elif task["what"] == "thirty":
    n = len(task["h"])
    net = serial_system(num_nodes=n, node_order_in_system=list(range(n, 0, -1)),
                        node_order_in_lists=list(range(1, n + 1)),
                        echelon_holding_cost=task["h"], shipment_lead_time=1,
                        stockout_cost={1: task["p"]}, demand_type="N", mean=task["mean"],
                        standard_deviation=task["sd"], policy_type="BS")
    start = time.perf_counter()
    levels, cost = optimize_base_stock_levels(network=net, S=None, plots=False)
    out = {"cost": float(cost), "seconds": time.perf_counter() - start}
elif task["what"] == "simulation":
    net = load_instance("example_6_1")
    start = time.perf_counter()
    cost = simulation(net, num_periods=task["periods"], rand_seed=1, progress_bar=False)
    seconds = time.perf_counter() - start
    out = {"seconds": seconds, "periods": task["periods"], "nodes": len(net.nodes),
           "cost_per_period": float(cost) / task["periods"]}
print(json.dumps(out))
"""


def _peer(task: dict[str, Any], timeout: float, script: str = PEER_SCRIPT) -> dict[str, Any] | None:
    """Run one stockpyl task (``script`` reads it as JSON from argv[1]) in the peer venv;
    None when the venv is missing, or the task fails or times out."""
    if not PEER_PYTHON.exists():
        return None
    try:
        done = subprocess.run(
            [str(PEER_PYTHON), "-c", script, json.dumps(task)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
            cwd=ROOT,
        )
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
        print(f"  stockpyl task {task.get('what', '')!r} did not finish: {type(exc).__name__}")
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _timed(fn: Any, repeat: int = 3) -> tuple[Any, float]:
    best = float("inf")
    value = None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return value, best


def bench_shang_song(timeout: float) -> list[str]:
    lines = ["### Serial SSM, Shang and Song (2003) Table 1 (Poisson, N = 4)", ""]
    lines.append(
        "| row | published | stockpilot | stockpyl | stockpilot s | stockpyl s | stockpilot levels |"
    )
    lines.append("|---|---|---|---|---|---|---|")
    peer = _peer({"what": "shang_song", "rows": [r[0] for r in SHANG_SONG]}, timeout)
    peer_rows = {r["row"]: r for r in peer["rows"]} if peer else {}
    for row, h, p, published in SHANG_SONG:
        sol, seconds = _timed(
            lambda h=h, p=p: serial_base_stock_levels(
                echelon_holding_cost=h,
                lead_time=0.25,
                stockout_cost=p,
                demand_mean=16.0,
                distribution="poisson",
            )
        )
        theirs = peer_rows.get(row)
        lines.append(
            f"| {row} | {published:.3f} | {sol.expected_cost:.4f} | "
            f"{theirs['cost']:.4f} | {seconds:.4f} | {theirs['seconds']:.3f} | "
            if theirs
            else f"| {row} | {published:.3f} | {sol.expected_cost:.4f} | n/a | {seconds:.4f} | n/a | "
        )
        lines[-1] += f"{sol.echelon_base_stock.astype(int).tolist()} |"
        match = round(sol.expected_cost, 3) == published
        lines[-1] += "" if match else " MISMATCH"
    return lines


def bench_example_6_1(timeout: float) -> list[str]:
    sol, seconds = _timed(
        lambda: serial_base_stock_levels(
            echelon_holding_cost=[3, 2, 2],
            lead_time=[1, 1, 2],
            stockout_cost=37.12,
            demand_mean=5,
            demand_sd=1,
        )
    )
    fine = serial_base_stock_levels(
        echelon_holding_cost=[3, 2, 2],
        lead_time=[1, 1, 2],
        stockout_cost=37.12,
        demand_mean=5,
        demand_sd=1,
        grid_step=0.001,
    )
    peer = _peer({"what": "example_6_1"}, timeout)
    lines = ["", "### Snyder and Shen (2019) Example 6.1 (normal demand, N = 3)", ""]
    lines.append("| tool | cost | echelon levels | seconds |")
    lines.append("|---|---|---|---|")
    lines.append(
        f"| stockpilot (default grid) | {sol.expected_cost:.4f} | "
        f"{np.round(sol.echelon_base_stock, 3).tolist()} | {seconds:.4f} |"
    )
    lines.append(
        f"| stockpilot (step 0.001, reference) | {fine.expected_cost:.4f} | "
        f"{np.round(fine.echelon_base_stock, 3).tolist()} | |"
    )
    if peer:
        lines.append(
            f"| stockpyl (default grid) | {peer['cost']:.4f} | "
            f"{np.round(peer['levels'], 3).tolist()} | {peer['seconds']:.3f} |"
        )
    return lines


def bench_thirty(timeout: float, *, with_peer: bool) -> list[str]:
    kw = {
        "echelon_holding_cost": THIRTY_H,
        "lead_time": 1,
        "stockout_cost": 20.0,
        "demand_mean": 100.0,
        "demand_sd": 25.0,
    }
    sol, seconds = _timed(lambda: serial_base_stock_levels(**kw))  # type: ignore[arg-type]
    lines = ["", "### 30-stage serial chain (normal demand 100 +- 25, L = 1 each)", ""]
    lines.append(f"- stockpilot: {seconds:.3f} s, cost {sol.expected_cost:.3f}")
    if with_peer:
        peer = _peer(
            {"what": "thirty", "h": THIRTY_H, "p": 20.0, "mean": 100.0, "sd": 25.0}, timeout
        )
        if peer:
            lines.append(
                f"- stockpyl: {peer['seconds']:.1f} s, cost {peer['cost']:.3f} "
                f"(ratio {peer['seconds'] / seconds:,.0f}x)"
            )
    else:
        lines.append(
            "- stockpyl: not run (pass --peer-30; about 2 s per stage at its default grid)"
        )
    return lines


def _chain(n: int, horizon: int, seed: int, engine: str = "compiled") -> float:
    rng = np.random.default_rng(seed)
    demand = np.zeros((n, 3, horizon))
    demand[:, 0, :] = np.maximum(rng.normal(5.0, 1.0, size=(n, horizon)), 0.0)
    start = time.perf_counter()
    simulate_network(
        demand,
        supplier=[1, 2, -1],
        policy="base_stock",
        order_up_to=EXAMPLE_6_1_LOCAL,
        lead_time=[0, 0, 1],
        engine=engine,  # type: ignore[arg-type]
    )
    return time.perf_counter() - start


def bench_simulation(timeout: float, periods: int) -> list[str]:
    peer = _peer({"what": "simulation", "periods": periods}, timeout)
    lines = ["", "### Simulation throughput, 3-stage serial chain (Example 6.1, base stock)", ""]
    lines.append("| run | node-periods | seconds | node-periods / s | ratio to stockpyl |")
    lines.append("|---|---|---|---|---|")
    peer_rate = None
    if peer:
        peer_rate = peer["nodes"] * peer["periods"] / peer["seconds"]
        lines.append(
            f"| stockpyl, 1 chain x {periods} periods | {peer['nodes'] * periods:,} | "
            f"{peer['seconds']:.2f} | {peer_rate:,.0f} | 1 |"
        )
    first = _chain(1, 10, 0)  # loads (or compiles, the first time) the numba kernel
    runs = [
        (1, 5_000, "compiled"),
        (1, 5_000, "arrays"),
        (1_000, 1_000, "compiled"),
        (1_000, 1_000, "arrays"),
        (10_000, 300, "compiled"),
    ]
    for n, horizon, engine in runs:
        seconds = min(_chain(n, horizon, seed, engine) for seed in (1, 2))
        rate = 3 * n * horizon / seconds
        ratio = f"{rate / peer_rate:,.0f}x" if peer_rate else "n/a"
        lines.append(
            f"| stockpilot {engine}, {n:,} chain(s) x {horizon:,} periods | "
            f"{3 * n * horizon:,} | {seconds:.3f} | {rate:,.0f} | {ratio} |"
        )
    lines.append("")
    lines.append(f"First call in a fresh process (numba cache load or compile): {first:.2f} s.")
    return lines


def bench_real_demand() -> list[str]:
    """The textbook ERP order-up-to policy replayed on carparts (ANCHORS.md protocol)."""
    lines = ["", "### Real demand: textbook order-up-to policy on carparts (backorders)", ""]
    if not CARPARTS.exists():
        return [*lines, "- skipped: ../shared/data/carparts not found"]
    import polars as pl

    wide = pl.read_csv(CARPARTS, infer_schema_length=0)
    values = wide.drop("unique_id").with_columns(pl.all().cast(pl.Float64)).to_numpy()
    values = values[~np.isnan(values).any(axis=1)]
    train, test = values[:, :-12], values[:, -12:]
    lead, z = 1, 1.645
    mean, sd = train.mean(axis=1), train.std(axis=1, ddof=1)
    level = mean * (lead + 1) + z * sd * np.sqrt(lead + 1)
    start = time.perf_counter()
    res = simulate_single_echelon(test, policy="base_stock", order_up_to=level, lead_time=lead)
    seconds = time.perf_counter() - start
    fill = float(np.nansum(res.fill_rate * res.total_demand) / np.sum(res.total_demand))
    lines.append(
        f"- {values.shape[0]:,} complete series, trained on the first {train.shape[1]} months, "
        f"S = mean (L + 1) + 1.645 sd sqrt(L + 1) with L = 1, simulated on the last 12 months "
        f"from S on hand: demand-weighted fill rate {fill:.3f}, median per-series fill rate "
        f"{float(np.nanmedian(res.fill_rate)):.3f}, average on hand "
        f"{float(np.mean(res.average_on_hand)):.2f} units ({seconds * 1000:.1f} ms for all series)."
    )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run every part and print a markdown report (also used by bench_network.py)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-30", action="store_true", help="also time stockpyl on 30 stages")
    parser.add_argument("--sim-periods", type=int, default=500, help="stockpyl simulation length")
    parser.add_argument("--timeout", type=float, default=900.0, help="per stockpyl task, seconds")
    args = parser.parse_args(argv)
    header = [
        f"## Stochastic network benchmark ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, python "
        f"{platform.python_version()}, numpy {np.__version__}; stockpyl 1.0.2 in "
        f"{'.venv-peers' if PEER_PYTHON.exists() else 'MISSING (run make bench-env)'}.",
        "",
    ]
    parts = [
        *header,
        *bench_shang_song(args.timeout),
        *bench_example_6_1(args.timeout),
        *bench_thirty(args.timeout, with_peer=args.peer_30),
        *bench_simulation(args.timeout, args.sim_periods),
        *bench_real_demand(),
    ]
    print("\n".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
