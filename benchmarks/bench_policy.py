"""Benchmark: policy engine speed, agreement with stockpyl 1.0.2, and decision quality.

1. **Speed** -- 100,000 synthetic item-locations per policy type, timed in this process.
2. **stockpyl** -- the cases stockpyl supports (Zheng-Federgruen (s,S), power
   approximation, (r,Q) loss-function and EIL approximations, newsvendor / base stock),
   run in ``.venv-peers`` (``make bench-env``; stockpyl needs numpy<2) through a subprocess
   on the same random instances: largest difference and time per case, speed ratio.
3. **Real demand** (../shared/data: raf, carparts, m5_weekly CA_1): policies computed on the
   first part of each series, simulated (``stockpilot.core.simulation``) on the rest with
   backorders; pooled fill rate and average on-hand stock of stockpilot's
   ``compute_policies`` (fill rate 0.95) against the textbook base stock
   ``S = mean (L + 1) + 1.645 sd sqrt(L + 1)``.

Run: .venv/bin/python benchmarks/bench_policy.py [--n 100000] [--peer-cases 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from stockpilot.core.policy.leadtime_demand import lead_time_demand
from stockpilot.core.policy.policies import (
    base_stock_cost_optimal,
    base_stock_cost_optimal_normal,
    r_s_s_service,
    r_s_service,
    s_q_cost_optimal_normal,
    s_q_fill_rate_normal,
    s_q_poisson_exact,
    s_q_service,
    s_s_power_approximation,
    s_s_zheng_federgruen,
)
from stockpilot.core.simulation.single_echelon import simulate_single_echelon
from stockpilot.engine.panel import Panel
from stockpilot.engine.policies import PolicyOptions, compute_policies
from stockpilot.vocab import Bucket

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PEER_PYTHON = ROOT / ".venv-peers" / "bin" / "python"

PEER_SCRIPT = r"""
import json, sys, time
import numpy as np
from stockpyl import ss, rq, newsvendor
cases = json.load(sys.stdin)
out = {}
def run(name, fn, rows):
    start = time.perf_counter()
    res = [fn(*r) for r in rows]
    out[name] = {"seconds": time.perf_counter() - start, "result": res}
zf = cases["zf"]
run("s_s_zheng_federgruen", lambda h, p, k, m: list(ss.s_s_discrete_exact(h, p, k, True, m)), zf)
run("s_s_power_approximation", lambda h, p, k, m, s: list(ss.s_s_power_approximation(h, p, k, m, s)), cases["power"])
run("r_q_loss_function", lambda h, p, k, m, s, l: list(rq.r_q_loss_function_approximation(h, p, k, m, s, l)), cases["rq"])
run("r_q_eil", lambda h, p, k, m, s, l: list(rq.r_q_eil_approximation(h, p, k, m, s, l)), cases["rq"])
run("newsvendor_normal", lambda h, p, m, s, l: list(newsvendor.newsvendor_normal(h, p, m, s, l)), cases["nv"])
run("newsvendor_poisson", lambda h, p, m: list(newsvendor.newsvendor_poisson(h, p, m)), cases["nvp"])
run("r_q_poisson_exact", lambda h, p, k, m, l: list(rq.r_q_poisson_exact(h, p, k, m, l)), cases["rqp"])
json.dump(out, sys.stdout)
"""


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


# ------------------------------------------------------------------------------------------
# 1. Speed on 100,000 item-locations
# ------------------------------------------------------------------------------------------


def speed(n: int, rng: np.random.Generator) -> list[tuple[str, float]]:
    mu = rng.uniform(0.5, 20.0, n)
    sd = mu * rng.uniform(0.3, 1.5, n)
    lead = rng.integers(0, 4, n).astype(float)
    h, p, k = np.ones(n), rng.uniform(2.0, 20.0, n), rng.uniform(1.0, 100.0, n)
    target = rng.uniform(0.85, 0.99, n)
    q = np.maximum(np.round(mu * rng.uniform(1.0, 6.0, n)), 1.0)
    rows: list[tuple[str, float]] = []
    # Compile / warm the numba kernel once (cache=True keeps it across runs).
    s_s_zheng_federgruen(1.0, 4.0, 5.0, 6.0)
    rows.append(
        (
            "s_S Zheng-Federgruen, Poisson, L 0-3",
            timed(lambda: s_s_zheng_federgruen(h, p, k, mu, lead_time=lead))[0],
        )
    )
    rows.append(
        (
            "s_S Zheng-Federgruen, negative binomial",
            timed(
                lambda: s_s_zheng_federgruen(
                    h,
                    p,
                    k,
                    mu,
                    lead_time=lead,
                    distribution="negative_binomial",
                    demand_variance=sd**2 + mu,
                )
            )[0],
        )
    )
    rows.append(
        (
            "s_S power approximation (normal)",
            timed(lambda: s_s_power_approximation(h, p, k, mu, sd, lead_time=lead))[0],
        )
    )
    rows.append(
        (
            "s_Q fill rate, normal (SPT eq. 6.19)",
            timed(lambda: s_q_fill_rate_normal(mu * (lead + 1), sd * np.sqrt(lead + 1), q, target))[
                0
            ],
        )
    )
    rows.append(
        (
            "s_Q cost-optimal (r,Q) normal, iterative",
            timed(lambda: s_q_cost_optimal_normal(h, p, k, mu, sd, lead_time=lead + 1))[0],
        )
    )

    def periodic(family: str, kind: str) -> None:
        prot = lead_time_demand(mu, sd, lead, review_period=1.0, distribution=family)
        lead_only = lead_time_demand(mu, sd, lead, distribution=family)
        # Whole-unit levels, as the engine computes them (integer search).
        if kind == "R_S":
            r_s_service(prot, mu, target, lead_time_only=lead_only, integer=True)
        elif kind == "s_Q":
            s_q_service(prot, q, target, lead_time_only=lead_only, integer=True)
        else:
            r_s_s_service(prot, q, target, lead_time_only=lead_only, integer=True)

    for family in ("normal", "gamma", "negative_binomial"):
        rows.append(
            (
                f"R_S fill rate, {family}, periodic loss",
                timed(lambda f=family: periodic(f, "R_S"))[0],
            )
        )
    rows.append(
        (
            "s_Q fill rate, negative binomial, periodic",
            timed(lambda: periodic("negative_binomial", "s_Q"))[0],
        )
    )
    rows.append(("R_s_S fill rate, gamma, periodic", timed(lambda: periodic("gamma", "R_s_S"))[0]))
    rows.append(
        (
            "base_stock cost-optimal, normal",
            timed(lambda: base_stock_cost_optimal_normal(h, p, mu, sd, lead_time=lead))[0],
        )
    )
    rows.append(
        (
            "base_stock cost-optimal, Poisson",
            timed(
                lambda: base_stock_cost_optimal(
                    lead_time_demand(mu, 0.0, lead + 1, distribution="poisson"), h, p
                )
            )[0],
        )
    )
    return rows


# ------------------------------------------------------------------------------------------
# 2. stockpyl on the cases it supports
# ------------------------------------------------------------------------------------------


def against_stockpyl(cases: int, rng: np.random.Generator, n_scale: int) -> list[dict[str, Any]]:
    if not PEER_PYTHON.exists():
        print("stockpyl skipped: run `make bench-env` to create .venv-peers")
        return []
    m = cases
    h = np.round(rng.uniform(0.5, 2.0, m), 3)
    p = np.round(rng.uniform(2.0, 20.0, m), 3)
    k = np.round(rng.uniform(1.0, 60.0, m), 3)
    mu = np.round(rng.uniform(1.0, 20.0, m), 3)
    sd = np.round(mu * rng.uniform(0.2, 0.6, m), 3)
    lt = np.round(rng.uniform(0.1, 3.0, m), 3)
    # (r, Q) in annual terms: lambda per year, L in years.
    lam, sig, lt_y = mu * 52, sd * np.sqrt(52), lt / 52
    payload = {
        "zf": np.column_stack([h, p, k, mu]).tolist(),
        "power": np.column_stack([h, p, k, mu, sd]).tolist(),
        "rq": np.column_stack([h, p, k, lam, sig, lt_y]).tolist(),
        "nv": np.column_stack([h, p, mu, sd, lt]).tolist(),
        "nvp": np.column_stack([h, p, mu]).tolist(),
        "rqp": np.column_stack([h, p, k, mu / 4, lt]).tolist(),
    }
    proc = subprocess.run(
        [str(PEER_PYTHON), "-c", PEER_SCRIPT],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
    )
    peer = json.loads(proc.stdout)
    ours: dict[str, tuple[float, np.ndarray]] = {}
    t, r = timed(lambda: s_s_zheng_federgruen(h, p, k, mu))
    ours["s_s_zheng_federgruen"] = (
        t,
        np.column_stack([r.reorder_point, r.order_up_to, r.expected_cost]),
    )
    t, r = timed(lambda: s_s_power_approximation(h, p, k, mu, sd, cap_at_newsvendor=False))
    ours["s_s_power_approximation"] = (t, np.column_stack([r.reorder_point, r.order_up_to]))
    t, r = timed(lambda: s_q_cost_optimal_normal(h, p, k, lam, sig, lead_time=lt_y))
    ours["r_q_loss_function"] = (t, np.column_stack([r.reorder_point, r.order_quantity]))
    t, r = timed(
        lambda: s_q_cost_optimal_normal(
            h, p, k, lam, sig, lead_time=lt_y, stockout_cost_basis="per_unit"
        )
    )
    ours["r_q_eil"] = (t, np.column_stack([r.reorder_point, r.order_quantity]))
    t, r = timed(lambda: base_stock_cost_optimal_normal(h, p, mu, sd, lead_time=lt))
    ours["newsvendor_normal"] = (t, np.column_stack([r.order_up_to, r.expected_cost]))
    t, r = timed(
        lambda: base_stock_cost_optimal(
            lead_time_demand(mu, 0.0, 1.0, distribution="poisson"), h, p
        )
    )
    ours["newsvendor_poisson"] = (t, np.column_stack([r.order_up_to, r.expected_cost]))
    t, r = timed(lambda: s_q_poisson_exact(h, p, k, mu / 4, lead_time=lt))
    ours["r_q_poisson_exact"] = (
        t,
        np.column_stack([r.reorder_point, r.order_quantity, r.expected_cost]),
    )
    rows = []
    for name, (our_t, our_res) in ours.items():
        theirs = np.asarray(peer[name]["result"], dtype=float)[:, : our_res.shape[1]]
        diff = np.abs(theirs - our_res)
        rows.append(
            {
                "case": name,
                "cases": m,
                "max_abs_diff": float(diff.max()),
                "share_equal_1e-3": float(np.mean(np.all(diff < 1e-3, axis=1))),
                "stockpyl_s": peer[name]["seconds"],
                "ours_s": our_t,
                "stockpyl_per_case_ms": 1e3 * peer[name]["seconds"] / m,
                "ratio": peer[name]["seconds"] / max(our_t, 1e-9),
                "stockpyl_extrapolated_100k_s": peer[name]["seconds"] / m * n_scale,
            }
        )
    return rows


# ------------------------------------------------------------------------------------------
# 3. Decision quality on real demand
# ------------------------------------------------------------------------------------------


def _wide(path: Path) -> tuple[list[str], np.ndarray, list[str]]:
    frame = pl.read_csv(path, infer_schema_length=0)
    ids = frame["unique_id"].to_list()
    cols = frame.columns[1:]
    values = frame.select(pl.col(c).cast(pl.Float64, strict=False) for c in cols).to_numpy()
    return ids, values, cols


def _panel(ids: list[str], values: np.ndarray, starts: list[str], bucket: Bucket) -> Panel:
    keys = pl.DataFrame({"item_id": ids, "location_id": ["-"] * len(ids)})
    periods = np.array([date.fromisoformat(s) for s in starts], dtype="datetime64[D]")
    return Panel(keys, periods, values, bucket)


def _trim_leading_zeros(values: np.ndarray) -> np.ndarray:
    """M5: zeros before an item's first sale mean 'not launched' (as in ANCHORS.md)."""
    out = values.copy()
    started = np.cumsum(np.nan_to_num(values) > 0, axis=1) > 0
    out[~started] = np.nan
    return out


def real_data(limit: int | None) -> list[dict[str, Any]]:
    sets = []
    raf = DATA / "raf" / "demand_monthly.csv"
    if raf.exists():
        ids, values, cols = _wide(raf)
        items = pl.read_csv(DATA / "raf" / "items.csv")
        lead = items["lead_time_months"].cast(pl.Float64).to_numpy()
        sets.append(("raf", ids, values, cols, Bucket.MONTH, 48, lead))
    car = DATA / "carparts" / "demand_monthly.csv"
    if car.exists():
        ids, values, cols = _wide(car)
        sets.append(("carparts", ids, values, cols, Bucket.MONTH, 30, np.full(len(ids), 1.0)))
    m5 = DATA / "m5_weekly" / "demand_weekly_CA_1.csv"
    if m5.exists():
        ids, values, cols = _wide(m5)
        sets.append(
            (
                "m5_weekly CA_1",
                ids,
                _trim_leading_zeros(values),
                cols,
                Bucket.WEEK,
                220,
                np.full(len(ids), 1.0),
            )
        )
    rows = []
    for name, ids, values, cols, bucket, split, lead in sets:
        if limit is not None:
            ids, values, lead = ids[:limit], values[:limit], lead[:limit]
        train, test = values[:, :split], values[:, split:]
        usable = (np.nan_to_num(train) > 0).any(axis=1) & (~np.isnan(test)).any(axis=1)
        usable &= np.nansum(test, axis=1) > 0
        ids_u = [i for i, u in zip(ids, usable, strict=True) if u]
        train, test, lead = train[usable], test[usable], lead[usable]
        panel = _panel(ids_u, train, cols[:split], bucket)
        items = pl.DataFrame({"item_id": ids_u, "lead_time": lead})
        recent = 52 if bucket is Bucket.WEEK else 24
        t_policy, ours = timed(
            lambda panel=panel, items=items: compute_policies(
                panel, items=items, options=PolicyOptions(service_target=0.95)
            )
        )
        ours_recent = compute_policies(
            panel, items=items, options=PolicyOptions(service_target=0.95, history_periods=recent)
        )
        mean = np.nanmean(train, axis=1)
        sd = np.nanstd(train, axis=1, ddof=1)
        textbook = mean * (lead + 1) + 1.645 * sd * np.sqrt(lead + 1)
        candidates = {
            "textbook z=1.645": textbook,
            "stockpilot fill 0.95": ours["order_up_to"].to_numpy(),
            f"stockpilot fill 0.95, last {recent} buckets": ours_recent["order_up_to"].to_numpy(),
        }
        lead_int = np.rint(lead).astype(np.int64)
        for label, level in candidates.items():
            res = simulate_single_echelon(
                test, policy="base_stock", order_up_to=level, lead_time=lead_int
            )
            filled = np.nansum(res.fill_rate * res.total_demand)
            rows.append(
                {
                    "data": name,
                    "series": int(usable.sum()),
                    "train/test": f"{split}/{values.shape[1] - split}",
                    "policy": label,
                    "pooled_fill_rate": float(filled / np.nansum(res.total_demand)),
                    "median_item_fill_rate": float(np.nanmedian(res.fill_rate)),
                    "average_on_hand": float(np.nanmean(res.average_on_hand)),
                    "seconds_policies": t_policy
                    if label.startswith("stockpilot")
                    else float("nan"),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--peer-cases", type=int, default=200)
    parser.add_argument("--limit", type=int, default=None, help="series per real data set")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-speed", action="store_true", help="skip sections 1 and 2")
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    print(
        f"# bench_policy  {date.today()}  {platform.processor() or platform.machine()}  "
        f"{os.cpu_count()} cpus  python {platform.python_version()}"
    )
    if not args.skip_speed:
        print(f"\n## Speed, {args.n:,} item-locations per policy (seconds)")
        for label, seconds in speed(args.n, rng):
            print(f"| {label} | {seconds:.2f} |")
        print(f"\n## stockpyl 1.0.2 on {args.peer_cases} random cases each")
    for row in [] if args.skip_speed else against_stockpyl(args.peer_cases, rng, args.n):
        print(
            f"| {row['case']} | max diff {row['max_abs_diff']:.2e} | equal {row['share_equal_1e-3']:.3f} "
            f"| stockpyl {row['stockpyl_s']:.3f}s ({row['stockpyl_per_case_ms']:.2f} ms/case) "
            f"| ours {row['ours_s']:.4f}s | ratio {row['ratio']:.0f}x "
            f"| stockpyl extrapolated to {args.n:,}: {row['stockpyl_extrapolated_100k_s']:.0f}s |"
        )
    if not args.skip_real:
        print("\n## Real demand: base stock from the first part, simulated on the rest")
        for row in real_data(args.limit):
            print(
                f"| {row['data']} | {row['series']} | {row['train/test']} | {row['policy']} "
                f"| {row['pooled_fill_rate']:.3f} | {row['median_item_fill_rate']:.3f} "
                f"| {row['average_on_hand']:.2f} | {row['seconds_policies']:.1f} |"
            )


if __name__ == "__main__":
    main()
