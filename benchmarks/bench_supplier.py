"""Benchmark: supplier performance (numpy grouping) against a straightforward pandas groupby.

Synthetic receipt history (no public receipts data set is at hand): suppliers x items with
gamma lead times, due dates at the quoted lead time, binomial rejections. Both sides compute,
per (supplier, item) and per supplier, receipt count, lead-time mean, sd, 0.5 / 0.9 / 0.95
quantiles, on-time rate and defect rate; the script checks that the numbers agree and prints
the speed ratio.

Run: .venv/bin/python benchmarks/bench_supplier.py [--receipts 1000000]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np
import pandas as pd

from stockpilot.core.supplier import receipt_records, supplier_performance

LEVELS = (0.5, 0.9, 0.95)


def synthetic(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_sup, n_item = 2_000, 50
    supplier = rng.integers(0, n_sup, n)
    item = rng.integers(0, n_item, n)
    quoted = 5 + (supplier % 20)
    lead = np.round(rng.gamma(4.0, quoted / 4.0)).astype(np.int64)
    order = rng.integers(0, 700, n)
    qty = rng.integers(1, 200, n)
    rejected = rng.binomial(qty, 0.02)
    return pd.DataFrame(
        {
            "supplier": supplier,
            "item": item,
            "order_day": order,
            "due_day": order + quoted,
            "receipt_day": order + lead,
            "quantity": qty,
            "rejected": rejected,
        }
    )


def pandas_way(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    df = df.assign(
        lead=df["receipt_day"] - df["order_day"],
        on_time=(df["receipt_day"] <= df["due_day"]).astype(float),
    )
    g = df.groupby(keys, sort=True)
    out = g.agg(
        n=("lead", "size"),
        mean=("lead", "mean"),
        sd=("lead", "std"),
        on_time=("on_time", "mean"),
        qty=("quantity", "sum"),
        rej=("rejected", "sum"),
    )
    q = g["lead"].quantile(list(LEVELS)).unstack()
    out = out.join(q)
    out["defect"] = out["rej"] / out["qty"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=1_000_000)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} python {sys.version.split()[0]}; "
        f"pandas {pd.__version__}, numpy {np.__version__}"
    )
    df = synthetic(args.receipts)
    print(f"{len(df):,} receipts, {df['supplier'].nunique():,} suppliers")

    start = time.perf_counter()
    rec = receipt_records(
        supplier=df["supplier"].to_numpy(),
        item=df["item"].to_numpy(),
        order_date=df["order_day"].to_numpy(),
        due_date=df["due_day"].to_numpy(),
        receipt_date=df["receipt_day"].to_numpy(),
        quantity=df["quantity"].to_numpy(),
        quantity_rejected=df["rejected"].to_numpy(),
    )
    perf = supplier_performance(rec, quantile_levels=LEVELS)
    ours = time.perf_counter() - start

    start = time.perf_counter()
    pair = pandas_way(df, ["supplier", "item"])
    sup = pandas_way(df, ["supplier"])
    theirs = time.perf_counter() - start

    worst = 0.0
    for mine, ref in ((perf.by_supplier_item, pair), (perf.by_supplier, sup)):
        checks = [
            (mine.n_receipts, ref["n"]),
            (mine.lead_time_mean, ref["mean"]),
            (mine.lead_time_sd, ref["sd"]),
            (mine.on_time_rate, ref["on_time"]),
            (mine.defect_rate, ref["defect"]),
        ] + [(mine.lead_time_quantiles[:, k], ref[lv]) for k, lv in enumerate(LEVELS)]
        for a, b in checks:
            b_arr = b.to_numpy(dtype=float)
            diff = np.nanmax(np.abs(np.asarray(a, dtype=float) - b_arr))
            worst = max(worst, float(diff))
    print(f"  stockpilot supplier_performance {ours:7.3f} s (validation included)")
    print(f"  pandas groupby                  {theirs:7.3f} s")
    print(
        f"  speed ratio pandas / stockpilot: {theirs / ours:.1f}x; largest difference {worst:.2g}"
    )


if __name__ == "__main__":
    main()
