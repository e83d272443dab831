"""Write stockpyl 1.0.2 reference results as JSON fixtures for the test suite.

stockpyl needs numpy<2, so it cannot be imported by the test suite; it runs here in
/work/main/.venv-peers (``make bench-env``) through a subprocess, through the helpers of
``bench_network.py`` and ``bench_network_stochastic.py`` (imported, not copied). The JSON
files under ``tests/fixtures/stockpyl/`` hold each instance in full and stockpyl's answer,
so ``tests/core/network/test_stockpyl_fixtures.py`` checks stockpilot against stockpyl
without stockpyl installed (in CI too).

Fixtures written:

- ``gsm_trees.json``: guaranteed-service model on 25 random spanning trees of 5-60 nodes
  (``bench_network.random_tree`` with fixed seeds), stockpyl's
  ``gsm_tree.optimize_committed_service_times``: optimal cost and committed service times.
- ``ssm_serial.json``: serial stochastic-service model, stockpyl's
  ``ssm_serial.optimize_base_stock_levels`` (Chen-Zheng recursion) at its default
  discretization: the four Shang and Song (2003) rows and Snyder and Shen Example 6.1 that
  ``bench_network_stochastic.py`` runs, and 12 random serial systems of 2-10 stages
  (normal and Poisson demand): optimal echelon base-stock levels and cost.

The simulation in ``bench_network_stochastic.py`` is not a cross-check (its random streams
differ from ours), so it has no fixture.

Run: ``.venv/bin/python benchmarks/make_stockpyl_fixtures.py`` (about 3 minutes).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_network import (
    PEER_PYTHON,
    ROOT,
    random_tree,
    run_stockpyl,
)
from bench_network_stochastic import SHANG_SONG, _peer
from stockpilot.core.network.network import NODE_FIELDS

OUT = ROOT / "tests" / "fixtures" / "stockpyl"
COMMAND = ".venv/bin/python benchmarks/make_stockpyl_fixtures.py"
TREE_SEEDS = range(5000, 5025)
SERIAL_SEEDS = range(7000, 7012)
_FLAT_LIST = re.compile(r"\[([^\[\]{}]*)\]")
SERIAL_NORMAL_MAX_STAGES = 7  # stockpyl takes about 2 s per stage on normal demand

# One call of optimize_base_stock_levels on a serial system given stage 1 (downstream)
# first; stockpyl numbers nodes N..1 with node 1 downstream, so the parameters go in as
# dicts keyed by that number and the levels come back keyed the same way.
SERIAL_SCRIPT = r"""
import json, sys, time
from stockpyl.demand_source import DemandSource
from stockpyl.ssm_serial import optimize_base_stock_levels

task = json.loads(sys.argv[1])
n = len(task["echelon_holding_cost"])
kwargs = dict(
    num_nodes=n,
    echelon_holding_cost={j + 1: h for j, h in enumerate(task["echelon_holding_cost"])},
    lead_time={j + 1: lt for j, lt in enumerate(task["lead_time"])},
    stockout_cost=task["stockout_cost"],
)
if task["distribution"] == "poisson":
    kwargs["demand_source"] = DemandSource(type="P", mean=task["demand_mean"])
else:
    kwargs["demand_mean"] = task["demand_mean"]
    kwargs["demand_standard_deviation"] = task["demand_sd"]
start = time.perf_counter()
levels, cost = optimize_base_stock_levels(**kwargs)
print(json.dumps({"cost": float(cost), "seconds": time.perf_counter() - start,
                  "levels": [float(levels[j + 1]) for j in range(n)]}))
"""


def _peer_versions() -> dict[str, str]:
    done = subprocess.run(
        [
            str(PEER_PYTHON),
            "-c",
            "import json, importlib.metadata as m; "
            "print(json.dumps({k: m.version(k) for k in ('stockpyl', 'numpy', 'scipy')}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    versions: dict[str, str] = json.loads(done.stdout)
    return versions


def _source(function: str, versions: dict[str, str], note: str) -> dict[str, Any]:
    return {
        "tool": "stockpyl",
        "stockpyl_version": versions["stockpyl"],
        "peer_numpy_version": versions["numpy"],
        "peer_scipy_version": versions["scipy"],
        "function": function,
        "generated_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": COMMAND,
        "note": note,
    }


def _tree_sizes() -> list[int]:
    return [int(x) for x in np.rint(np.linspace(5, 60, len(TREE_SEEDS)))]


def gsm_trees(versions: dict[str, str], timeout: float) -> dict[str, Any]:
    instances = []
    for seed, n in zip(TREE_SEEDS, _tree_sizes(), strict=True):
        net = random_tree(seed, n)
        peer = run_stockpyl(net, timeout)
        if not isinstance(peer, dict):
            raise SystemExit(f"stockpyl failed on tree seed {seed} ({n} nodes): {peer}")
        ids = [nd.node_id for nd in net.nodes]
        instances.append(
            {
                "name": f"random_tree_seed{seed}_n{n}",
                "seed": seed,
                "z": net.z,
                "nodes": {  # one column per attribute, in node order
                    "node_id": ids,
                    **{attr: [getattr(nd, attr) for nd in net.nodes] for attr in NODE_FIELDS},
                },
                "edges": [[e.upstream, e.downstream] for e in net.edges],
                "stockpyl": {
                    "total_cost": peer["cost"],
                    "committed_service_time": [
                        float(peer["cst"][str(k)])  # type: ignore[index]
                        for k in range(len(ids))
                    ],
                    "solve_seconds": round(float(peer["solve"]), 4),
                },
            }
        )
        print(f"  tree seed {seed}: {n} nodes, cost {peer['cost']:.4f}, {peer['solve']:.2f} s")
        sys.stdout.flush()
    return {
        "source": _source(
            "stockpyl.gsm_tree.optimize_committed_service_times",
            versions,
            "bench_network.random_tree(seed, n); stockpyl network built by "
            "bench_network.run_stockpyl (external inbound CST 0, uncapped outbound CST "
            "passed as 10**6, demand bound constant z at every node).",
        ),
        "instances": instances,
    }


def random_serial(seed: int) -> dict[str, Any]:
    """A random serial system, stage 1 (customer-facing) first; odd seeds are Poisson."""
    rng = np.random.default_rng(seed)
    poisson = seed % 2 == 1
    stages = int(rng.integers(2, 11 if poisson else SERIAL_NORMAL_MAX_STAGES + 1))
    h = np.round(rng.uniform(0.05, 2.0, size=stages), 3)
    mean = float(rng.integers(2, 21)) if poisson else float(np.round(rng.uniform(5, 100), 2))
    sd = None if poisson else float(np.round(mean * rng.uniform(0.1, 0.4), 2))
    lead = rng.choice([0.25, 0.5, 1.0, 2.0] if poisson else [0.5, 1.0, 2.0, 3.0], size=stages)
    return {
        "name": f"random_serial_seed{seed}_n{stages}_{'poisson' if poisson else 'normal'}",
        "kind": "random",
        "seed": seed,
        "distribution": "poisson" if poisson else "normal",
        "echelon_holding_cost": h.tolist(),
        "lead_time": [float(x) for x in lead],
        "stockout_cost": float(np.round(rng.uniform(5, 50), 2)),
        "demand_mean": mean,
        "demand_sd": sd,
    }


def _run_serial(task: dict[str, Any], timeout: float) -> dict[str, Any]:
    payload = {k: task[k] for k in task if k not in ("name", "kind", "seed")}
    result = _peer(payload, timeout, script=SERIAL_SCRIPT)
    if result is None:
        raise SystemExit(f"stockpyl failed on {task['name']} (see above)")
    return result


def _answer(peer: dict[str, Any]) -> dict[str, Any]:
    return {
        "expected_cost": peer["cost"],
        "echelon_base_stock": peer["levels"],
        "solve_seconds": round(float(peer["seconds"]), 4),
    }


def ssm_serial(versions: dict[str, str], timeout: float) -> dict[str, Any]:
    instances: list[dict[str, Any]] = []
    shang_song = _peer({"what": "shang_song", "rows": [r[0] for r in SHANG_SONG]}, timeout)
    if shang_song is None:
        raise SystemExit("stockpyl failed on the Shang and Song rows")
    by_row = {r["row"]: r for r in shang_song["rows"]}
    for row, h, p, published in SHANG_SONG:
        instances.append(
            {
                "name": f"shang_song_2003_table1_row{row}",
                "kind": "shang_song",
                "distribution": "poisson",
                "echelon_holding_cost": h,
                "lead_time": [0.25] * len(h),
                "stockout_cost": p,
                "demand_mean": 16.0,
                "demand_sd": None,
                "published_cost": published,
                "stockpyl": _answer(by_row[row]),
            }
        )
    example = _peer({"what": "example_6_1"}, timeout)
    if example is None:
        raise SystemExit("stockpyl failed on Example 6.1")
    instances.append(
        {
            "name": "snyder_shen_2019_example_6_1",
            "kind": "example_6_1",
            "distribution": "normal",
            "echelon_holding_cost": [3.0, 2.0, 2.0],
            "lead_time": [1.0, 1.0, 2.0],
            "stockout_cost": 37.12,
            "demand_mean": 5.0,
            "demand_sd": 1.0,
            "stockpyl": _answer(example),
        }
    )
    for seed in SERIAL_SEEDS:
        task = random_serial(seed)
        task["stockpyl"] = _answer(_run_serial(task, timeout))
        instances.append(task)
    for inst in instances:
        print(
            f"  {inst['name']}: cost {inst['stockpyl']['expected_cost']:.4f}, "
            f"{inst['stockpyl']['solve_seconds']:.2f} s"
        )
    return {
        "source": _source(
            "stockpyl.ssm_serial.optimize_base_stock_levels",
            versions,
            "Default discretization (x_num=1000, d_num=100, tails at 1 - Phi(4)); "
            "integer grid for Poisson demand. Shang-Song rows and Example 6.1 through "
            "stockpyl.instances.load_instance (bench_network_stochastic._peer); random "
            "systems through num_nodes/echelon_holding_cost/lead_time dicts keyed 1..N "
            "(node 1 downstream). Lists here are stage 1 (customer-facing) first.",
        ),
        "instances": instances,
    }


def _write(name: str, data: dict[str, Any]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    text = json.dumps(data, indent=1)
    # Lists of numbers and strings on one line: small files that still diff well.
    text = _FLAT_LIST.sub(lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    path.write_text(text + "\n")
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1024:.1f} KB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["gsm", "ssm"], help="write one fixture file only")
    parser.add_argument("--timeout", type=float, default=120.0, help="per stockpyl call, s")
    args = parser.parse_args()
    if not PEER_PYTHON.exists():
        raise SystemExit(f"{PEER_PYTHON} not found: run `make bench-env` first")
    versions = _peer_versions()
    start = time.perf_counter()
    if args.only in (None, "gsm"):
        _write("gsm_trees.json", gsm_trees(versions, args.timeout))
    if args.only in (None, "ssm"):
        _write("ssm_serial.json", ssm_serial(versions, args.timeout))
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
