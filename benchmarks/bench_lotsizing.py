"""Benchmark: vectorized Wagner-Whitin / Silver-Meal against stockpyl 1.0.2's Wagner-Whitin.

Data: carparts (Hyndman et al. 2008), 2,674 monthly series x 51 months, NA -> 0, read from
../shared/data relative to the repository root. stockpyl needs numpy<2, so it runs in
.venv-peers (``make bench-env``) through a subprocess, on the same matrix, in the same run.
Prints time per method, the speed ratio and the largest cost difference (must be ~0: WW is
exact in both). Then times our kernels alone on 100,000 synthetic items x 52 weeks.

Run: .venv/bin/python benchmarks/bench_lotsizing.py [--setup-cost 20] [--holding-cost 0.5]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from stockpilot.core.lotsizing import (
    choose_lot_sizing_method,
    lot_for_lot,
    plan_lots_by_item,
    silver_meal,
    wagner_whitin,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "carparts" / "demand_monthly.csv"
PEER_PYTHON = ROOT / ".venv-peers" / "bin" / "python"

PEER_SCRIPT = """
import json, sys, time
import numpy as np
from stockpyl.wagner_whitin import wagner_whitin
demand = np.load(sys.argv[1])
a, h = float(sys.argv[2]), float(sys.argv[3])
costs = np.empty(demand.shape[0])
start = time.perf_counter()
for i, row in enumerate(demand):
    costs[i] = wagner_whitin(row.size, h, a, row.tolist())[1]
elapsed = time.perf_counter() - start
np.save(sys.argv[4], costs)
print(json.dumps({"seconds": elapsed}))
"""


def sbc_pattern(demand: np.ndarray) -> np.ndarray:
    """Syntetos-Boylan-Croston classes (ADI 1.32, CV^2 0.49) of each row."""
    nonzero = demand > 0
    count = nonzero.sum(axis=1)
    adi = np.where(count > 0, demand.shape[1] / np.maximum(count, 1), np.inf)
    sizes = np.where(nonzero, demand, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv2 = np.nanvar(sizes, axis=1) / np.nanmean(sizes, axis=1) ** 2
    cv2 = np.nan_to_num(cv2)
    pattern = np.where(
        adi <= 1.32,
        np.where(cv2 <= 0.49, "smooth", "erratic"),
        np.where(cv2 <= 0.49, "intermittent", "lumpy"),
    )
    return np.where(count == 0, "no_demand", pattern)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--setup-cost", type=float, default=20.0)
    parser.add_argument("--holding-cost", type=float, default=0.5)
    parser.add_argument("--synthetic-items", type=int, default=100_000)
    args = parser.parse_args()
    a, h = args.setup_cost, args.holding_cost
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} python {sys.version.split()[0]}"
    )
    if not DATA.exists():
        print(f"carparts data not found at {DATA}; skipping the peer comparison")
    else:
        frame = pl.read_csv(DATA)
        demand = np.nan_to_num(frame.drop("unique_id").to_numpy().astype(np.float64))
        n, t_len = demand.shape
        print(f"carparts: {n} series x {t_len} months, A = {a}, h = {h}")
        timings = {}
        for fn in (wagner_whitin, silver_meal, lot_for_lot):
            start = time.perf_counter()
            plan = fn(demand, a, h)
            timings[fn.__name__] = (time.perf_counter() - start, plan.total_cost)
            print(
                f"  stockpilot {fn.__name__:14s} {timings[fn.__name__][0]:8.3f} s  "
                f"total cost {plan.total_cost.sum():12.1f}"
            )
        start = time.perf_counter()
        choice = choose_lot_sizing_method(
            demand=demand, setup_cost=a, holding_cost=h, pattern=sbc_pattern(demand)
        )
        mixed = plan_lots_by_item(
            choice.methods, demand, a, h, fixed_quantity=choice.fixed_quantity
        )
        chosen_time = time.perf_counter() - start
        counts = {m.value: choice.methods.count(m) for m in set(choice.methods)}
        print(
            f"  rule per item (choose + plan) {chosen_time:8.3f} s  "
            f"total cost {mixed.total_cost.sum():12.1f}  {counts}"
        )
        ww_cost = timings["wagner_whitin"][1]
        print(
            f"  rule per item cost above optimum: "
            f"{100 * (mixed.total_cost.sum() / ww_cost.sum() - 1):.2f}%"
        )
        sm_cost = timings["silver_meal"][1]
        gap = (sm_cost.sum() - ww_cost.sum()) / ww_cost.sum()
        print(
            f"  Silver-Meal cost above optimum: {100 * gap:.2f}% in total, "
            f"{int(np.sum(sm_cost > ww_cost + 1e-9))} of {n} series"
        )
        if PEER_PYTHON.exists():
            with tempfile.TemporaryDirectory() as tmp:
                src, out = Path(tmp) / "demand.npy", Path(tmp) / "costs.npy"
                np.save(src, demand)
                proc = subprocess.run(
                    [str(PEER_PYTHON), "-c", PEER_SCRIPT, str(src), str(a), str(h), str(out)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                peer_seconds = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
                peer_cost = np.load(out)
            ours = timings["wagner_whitin"][0]
            print(
                f"  stockpyl 1.0.2 wagner_whitin  {peer_seconds:8.3f} s  "
                f"total cost {peer_cost.sum():12.1f}"
            )
            print(f"  speed ratio stockpyl / stockpilot (WW): {peer_seconds / ours:.1f}x")
            print(
                f"  largest cost difference per series: {np.max(np.abs(peer_cost - ww_cost)):.3g}"
            )
        else:
            print(f"  {PEER_PYTHON} missing: run `make bench-env` for the stockpyl comparison")
    rng = np.random.default_rng(42)
    n_syn = args.synthetic_items
    occurs = rng.random((n_syn, 52)) < 0.6
    synthetic = np.where(occurs, rng.gamma(2.0, 5.0, (n_syn, 52)).round(), 0.0)
    print(f"synthetic: {n_syn} items x 52 weeks (60% non-zero, gamma sizes)")
    for fn in (wagner_whitin, silver_meal):
        start = time.perf_counter()
        fn(synthetic, a, h)
        print(f"  stockpilot {fn.__name__:14s} {time.perf_counter() - start:8.3f} s")


if __name__ == "__main__":
    main()
