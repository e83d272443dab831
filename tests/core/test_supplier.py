"""Supplier performance: hand-computed cases and invariance properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.core.supplier import (
    clean_receipt_records,
    defect_adjustment,
    effective_lead_time,
    receipt_records,
    supplier_performance,
    update_supplier_performance,
)
from stockpilot.errors import InvalidDataError, InvalidParameterError


def _example():
    """Hand-built history: supplier 0 ships item 1 four times and item 2 once; supplier 3
    ships item 1 twice. Lead times (days): s0/i1 = 10, 12, 14, 20; s0/i2 = 30; s3/i1 = 5, 7."""
    order = np.array(["2026-01-01"] * 7, dtype="datetime64[D]")
    lead = np.array([10, 12, 14, 20, 30, 5, 7])
    receipt = order + lead.astype("timedelta64[D]")
    due = order + np.array([12, 12, 12, 12, 30, 7, 7]).astype("timedelta64[D]")
    asn = receipt - np.array([2, 2, 1, 3, 0, 0, 0]).astype("timedelta64[D]")
    asn[4:] = np.datetime64("NaT")
    return receipt_records(
        supplier=[0, 0, 0, 0, 0, 3, 3],
        item=[1, 1, 1, 1, 2, 1, 1],
        order_date=order,
        receipt_date=receipt,
        due_date=due,
        asn_date=asn,
        quantity=[100, 100, 50, 50, 10, 20, 20],
        quantity_rejected=[0, 5, 0, 10, 0, 0, 1],
    )


def test_hand_computed_supplier_item_statistics() -> None:
    """Hand-computed: s0/i1 lead times 10, 12, 14, 20: mean 14, sd sqrt(56/3) = 4.320,
    median 13, 0.9-quantile 18.2 (linear between order statistics 14 and 20); on time
    (due day 12, tolerance 0) for 10 and 12 -> 0.5, by quantity 200/300; rejected 15 of 300."""
    perf = supplier_performance(_example())
    g = perf.by_supplier_item
    assert g.supplier.tolist() == [0, 0, 3]
    assert g.item.tolist() == [1, 2, 1]
    assert g.n_receipts.tolist() == [4, 1, 2]
    assert g.lead_time_mean[0] == pytest.approx(14.0)
    assert g.lead_time_sd[0] == pytest.approx(np.sqrt(56 / 3))
    assert np.isnan(g.lead_time_sd[1])
    np.testing.assert_allclose(g.lead_time_quantiles[0], [13.0, 18.2, 19.1])
    assert g.on_time_rate[0] == pytest.approx(0.5)
    assert g.on_time_quantity_rate[0] == pytest.approx(200 / 300)
    assert g.defect_rate[0] == pytest.approx(15 / 300)
    assert g.defect_rate[2] == pytest.approx(1 / 40)
    assert g.asn_rate.tolist() == [1.0, 0.0, 0.0]
    assert g.asn_notice_mean[0] == pytest.approx(2.0)
    np.testing.assert_allclose(g.sample(0), [10, 12, 14, 20])


def test_tolerance_and_supplier_level() -> None:
    perf = supplier_performance(_example(), tolerance_days=2)
    s = perf.by_supplier
    assert s.supplier.tolist() == [0, 3]
    assert s.item.tolist() == [-1, -1]
    assert s.n_receipts.tolist() == [5, 2]
    assert s.lead_time_mean[0] == pytest.approx(86 / 5)
    # with 2 days' tolerance 10, 12, 14 and 30 are on time for supplier 0
    assert s.on_time_rate[0] == pytest.approx(4 / 5)


def test_effective_lead_time_fallbacks() -> None:
    perf = supplier_performance(_example())
    eff = effective_lead_time(
        perf,
        [0, 0, 3, 9],
        [1, 2, 1, 1],
        period_days=7.0,
        min_receipts=2,
        default_mean_days=21.0,
        default_sd_days=3.5,
    )
    assert eff.source == ("supplier_item", "supplier", "supplier_item", "default")
    assert eff.mean[0] == pytest.approx(14.0 / 7)
    assert eff.sd[0] == pytest.approx(np.sqrt(56 / 3) / 7)
    assert eff.mean[1] == pytest.approx(86 / 5 / 7)
    np.testing.assert_allclose(eff.mean[3], 3.0)
    np.testing.assert_allclose(eff.sd[3], 0.5)
    assert eff.n_receipts.tolist() == [4, 5, 2, 0]
    assert eff.defect_rate[3] == 0.0
    with pytest.raises(InvalidParameterError, match="min_receipts"):
        effective_lead_time(perf, [0], [1], min_receipts=1)


def test_validation_reports_all_problems() -> None:
    with pytest.raises(InvalidDataError) as info:
        receipt_records(
            supplier=[0, 1],
            item=[0, 0],
            order_date=[5.0, np.nan],
            receipt_date=[3.0, 4.0],
            quantity=[0.0, 1.0],
            quantity_rejected=[0.0, 2.0],
        )
    msg = str(info.value)
    for fragment in ("order_date missing", "before order_date", "quantity not > 0", "rejected"):
        assert fragment in msg


def test_clean_receipt_records_drops_and_explains() -> None:
    cleaned = clean_receipt_records(
        supplier=[0, 1, 1],
        item=[0, 0, 0],
        order_date=[5.0, np.nan, 1.0],
        receipt_date=[3.0, 4.0, 9.0],
        quantity=[0.0, 1.0, 4.0],
        quantity_rejected=[0.0, 2.0, 1.0],
    )
    assert cleaned.dropped_rows.tolist() == [0, 1]
    assert "before order_date" in cleaned.reasons[0]
    assert "quantity not > 0" in cleaned.reasons[0]
    assert "order_date missing" in cleaned.reasons[1]
    assert len(cleaned.records) == 1
    assert cleaned.records.lead_time_days.tolist() == [8.0]
    with pytest.raises(InvalidDataError, match="integer codes"):
        clean_receipt_records(
            supplier=["a"], item=[0], order_date=[0], receipt_date=[1], quantity=[1]
        )


def test_defect_adjustment_hand_computed() -> None:
    """Hand-computed: Q = 95 good units at p = 0.05 -> order 100; SS 19 -> 20; with z = 2,
    sigma = 9.5, yield sd sqrt(100 * 0.05 * 0.95) = 2.179, SS = 2 sqrt(90.25 + 4.75)/0.95."""
    plain = defect_adjustment(95.0, 19.0, 0.05)
    assert plain.gross_order_quantity[0] == pytest.approx(100.0)
    assert plain.safety_stock[0] == pytest.approx(20.0)
    full = defect_adjustment(95.0, 19.0, 0.05, z=2.0)
    assert full.yield_sd[0] == pytest.approx(np.sqrt(4.75))
    assert full.safety_stock[0] == pytest.approx(2 * np.sqrt(95.0) / 0.95)
    assert full.safety_stock[0] > plain.safety_stock[0]
    none = defect_adjustment(95.0, 19.0, 0.0, z=2.0)
    assert none.safety_stock[0] == pytest.approx(19.0)
    with pytest.raises(InvalidParameterError, match="defect_rate"):
        defect_adjustment(1.0, 1.0, 1.0)


records_strategy = st.lists(
    st.tuples(
        st.integers(0, 3),  # supplier
        st.integers(0, 2),  # item
        st.integers(0, 100),  # order day
        st.integers(0, 40),  # lead time
        st.integers(-5, 5),  # due offset vs lead time
        st.integers(1, 50),  # quantity
        st.integers(0, 50),  # rejected
    ),
    min_size=1,
    max_size=40,
)


def _build(rows: list[tuple[int, int, int, int, int, int, int]]):
    a = np.array(rows, dtype=np.int64)
    return receipt_records(
        supplier=a[:, 0],
        item=a[:, 1],
        order_date=a[:, 2],
        receipt_date=a[:, 2] + a[:, 3],
        due_date=a[:, 2] + a[:, 3] + a[:, 4],
        quantity=a[:, 5],
        quantity_rejected=np.minimum(a[:, 6], a[:, 5]),
    )


def _assert_same(p1, p2) -> None:
    for level in ("by_supplier_item", "by_supplier"):
        g1, g2 = getattr(p1, level), getattr(p2, level)
        for field in (
            "supplier",
            "item",
            "n_receipts",
            "lead_time_mean",
            "lead_time_sd",
            "lead_time_quantiles",
            "on_time_rate",
            "on_time_quantity_rate",
            "defect_rate",
            "lead_time_sample",
            "offsets",
        ):
            np.testing.assert_allclose(getattr(g1, field), getattr(g2, field), rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(rows=records_strategy, seed=st.integers(0, 2**16))
def test_statistics_invariant_to_record_order(rows, seed: int) -> None:
    perm = np.random.default_rng(seed).permutation(len(rows))
    _assert_same(
        supplier_performance(_build(rows)),
        supplier_performance(_build([rows[k] for k in perm])),
    )


@settings(max_examples=40, deadline=None)
@given(rows=records_strategy, more=records_strategy)
def test_update_equals_recompute_and_bounds(rows, more) -> None:
    first = supplier_performance(_build(rows), tolerance_days=1)
    updated = update_supplier_performance(first, _build(more))
    _assert_same(updated, supplier_performance(_build(rows + more), tolerance_days=1))
    g = updated.by_supplier_item
    assert np.all((g.on_time_rate >= 0) & (g.on_time_rate <= 1))
    assert np.all((g.defect_rate >= 0) & (g.defect_rate <= 1))
    q = g.lead_time_quantiles
    assert np.all(np.diff(q, axis=1) >= 0)
    assert int(g.n_receipts.sum()) == len(rows) + len(more)
    # the supplier level pools its items
    s = updated.by_supplier
    for k, sup in enumerate(s.supplier):
        mask = g.supplier == sup
        pooled = np.sum(g.lead_time_mean[mask] * g.n_receipts[mask]) / g.n_receipts[mask].sum()
        assert s.lead_time_mean[k] == pytest.approx(pooled)
