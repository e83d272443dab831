"""Supplier performance from purchase-order, ASN and receipt history.

One receipt record is one delivery against a purchase-order line: supplier and item codes
(integers; the caller maps string keys with e.g. ``np.unique(..., return_inverse=True)`` or
polars categoricals), order date, due date, ASN date (optional), receipt date, quantity
received and quantity rejected. Dates are ``datetime64`` arrays (any unit, ``NaT`` for
missing) or day numbers (``nan`` for missing).

From these, per supplier-item and per supplier, all groups at once (one stable sort by supplier, item and lead time, then
``np.add.reduceat`` over each group's contiguous slice; supplier totals pool the
supplier-item sums; no loop per supplier):

* lead time ``L = receipt_date - order_date`` (days): count, mean, standard deviation,
  quantiles and the empirical sample (flat sorted array with offsets);
* on-time rate: share of receipts with ``receipt_date <= due_date + tolerance_days``, by
  receipt and by quantity; receipts without a due date are left out of the denominator;
* defect rate: ``sum(quantity_rejected) / sum(quantity)`` (quantity weighted);
* ASN coverage (share of receipts announced by an ASN) and mean notice (receipt - ASN).

:func:`effective_lead_time` turns these into the lead-time mean and standard deviation that
safety stock needs, in planning periods, falling back from supplier-item to supplier to a
default when history is thin. :func:`defect_adjustment` inflates the supply needed for the
rejection rate and its effect on safety stock.

References
----------
Silver, E. A., Pyke, D. F. and Thomas, D. J. (2017). *Inventory and Production Management
in Supply Chains*, 4th ed., section 7.11 (probabilistic lead time: ``sigma_X^2 = E(L)
sigma_D^2 + D^2 sigma_L^2``).
Yano, C. A. and Lee, H. L. (1995). Lot sizing with random yields: a review.
*Operations Research* 43(2), 311-334 (binomial yield, order inflation ``Q / (1 - p)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stockpilot.errors import InvalidDataError, parameter_error

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_QUANTILES: tuple[float, ...] = (0.5, 0.9, 0.95)


@dataclass(frozen=True)
class ReceiptRecords:
    """Validated receipt history (one row per receipt), dates as float day numbers.

    Build with :func:`receipt_records`; concatenate with :meth:`concat`.
    """

    supplier: IntArray
    item: IntArray
    order_day: FloatArray
    due_day: FloatArray
    asn_day: FloatArray
    receipt_day: FloatArray
    quantity: FloatArray
    quantity_rejected: FloatArray

    def __len__(self) -> int:
        return int(self.supplier.size)

    def concat(self, other: ReceiptRecords) -> ReceiptRecords:
        """Records of both histories (self first)."""
        return ReceiptRecords(
            *(
                np.concatenate([getattr(self, f), getattr(other, f)])
                for f in (
                    "supplier",
                    "item",
                    "order_day",
                    "due_day",
                    "asn_day",
                    "receipt_day",
                    "quantity",
                    "quantity_rejected",
                )
            )
        )

    @property
    def lead_time_days(self) -> FloatArray:
        """Order-to-receipt lead time per record, in days."""
        return self.receipt_day - self.order_day


@dataclass(frozen=True)
class GroupPerformance:
    """Performance statistics for ``G`` groups (supplier-item pairs or suppliers).

    Attributes
    ----------
    supplier : (G,) supplier code.
    item : (G,) item code, ``-1`` for supplier-level groups.
    n_receipts : (G,) receipts in the group.
    lead_time_mean, lead_time_sd : (G,) days; sd uses ``ddof=1`` and is ``nan`` for one
        receipt.
    quantile_levels : (Q,) probabilities of ``lead_time_quantiles``.
    lead_time_quantiles : (G, Q) days, linear interpolation between order statistics.
    on_time_rate : (G,) receipts on time / receipts with a due date (``nan`` if none).
    on_time_quantity_rate : (G,) the same weighted by quantity received.
    defect_rate : (G,) quantity rejected / quantity received.
    asn_rate : (G,) share of receipts with an ASN.
    asn_notice_mean : (G,) mean days from ASN to receipt over receipts with an ASN.
    lead_time_sample : flat sorted lead times; group ``g`` is
        ``lead_time_sample[offsets[g]:offsets[g + 1]]``.
    offsets : (G + 1,) offsets into ``lead_time_sample``.
    """

    supplier: IntArray
    item: IntArray
    n_receipts: IntArray
    lead_time_mean: FloatArray
    lead_time_sd: FloatArray
    quantile_levels: FloatArray
    lead_time_quantiles: FloatArray
    on_time_rate: FloatArray
    on_time_quantity_rate: FloatArray
    defect_rate: FloatArray
    asn_rate: FloatArray
    asn_notice_mean: FloatArray
    lead_time_sample: FloatArray
    offsets: IntArray

    def sample(self, group: int) -> FloatArray:
        """Empirical lead-time sample (sorted, days) of one group."""
        return self.lead_time_sample[self.offsets[group] : self.offsets[group + 1]]


@dataclass(frozen=True)
class SupplierPerformance:
    """Supplier performance at two levels, plus the records it was computed from.

    Attributes
    ----------
    by_supplier_item : statistics per (supplier, item) pair, sorted by supplier then item.
    by_supplier : statistics per supplier (``item == -1``), sorted by supplier.
    tolerance_days : on-time tolerance used.
    records : the receipt history (kept so :func:`update_supplier_performance` can add to it).
    """

    by_supplier_item: GroupPerformance
    by_supplier: GroupPerformance
    tolerance_days: float
    records: ReceiptRecords


@dataclass(frozen=True)
class EffectiveLeadTime:
    """Lead time for safety stock, per requested (supplier, item).

    Attributes
    ----------
    mean, sd : (M,) lead-time mean and standard deviation in planning periods.
    n_receipts : (M,) receipts behind the figure (0 for the default).
    source : per row ``"supplier_item"``, ``"supplier"`` or ``"default"``.
    on_time_rate, defect_rate : (M,) from the same level as the lead time (``nan`` /
        0.0 for the default).
    """

    mean: FloatArray
    sd: FloatArray
    n_receipts: IntArray
    source: tuple[str, ...]
    on_time_rate: FloatArray
    defect_rate: FloatArray


@dataclass(frozen=True)
class DefectAdjustment:
    """Supply and safety stock inflated for a rejection (defect) rate ``p``.

    Attributes
    ----------
    gross_order_quantity : ``Q / (1 - p)``, what to order so ``Q`` good units arrive on
        average.
    safety_stock : safety stock in gross (ordered) units.
    yield_sd : standard deviation of good units in one gross order (binomial yield), 0 when
        no order quantity was given.
    """

    gross_order_quantity: FloatArray
    safety_stock: FloatArray
    yield_sd: FloatArray


# ---------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------


def _days(name: str, value: npt.ArrayLike, n: int | None) -> FloatArray:
    arr = np.asarray(value)
    if arr.dtype.kind == "M":
        missing = np.isnat(arr)
        days = arr.astype("datetime64[D]").astype(np.int64).astype(np.float64)
        days[missing] = np.nan
    elif arr.dtype.kind in "iufb":
        days = arr.astype(np.float64)
    else:
        raise InvalidDataError(
            f"The {name!r} of receipt_records must be datetime64 or day numbers. "
            f"Got dtype {arr.dtype}; convert strings with np.asarray(x, dtype='datetime64[D]')."
        )
    days = np.atleast_1d(days)
    if n is not None and days.shape != (n,):
        raise InvalidDataError(
            f"The {name!r} of receipt_records must have one value per receipt ({n}). "
            f"Got shape {days.shape}."
        )
    return days


def receipt_records(
    *,
    supplier: npt.ArrayLike,
    item: npt.ArrayLike,
    order_date: npt.ArrayLike,
    receipt_date: npt.ArrayLike,
    quantity: npt.ArrayLike,
    due_date: npt.ArrayLike | None = None,
    asn_date: npt.ArrayLike | None = None,
    quantity_rejected: npt.ArrayLike | None = None,
) -> ReceiptRecords:
    """Validate receipt arrays once; report every problem together.

    Parameters
    ----------
    supplier, item : (n,) integer codes (>= 0).
    order_date, receipt_date : (n,) dates (``datetime64``) or day numbers; required.
    quantity : (n,) quantity received, > 0.
    due_date, asn_date : optional (n,) dates, missing allowed (``NaT`` / ``nan``).
    quantity_rejected : optional (n,) rejected on inspection, ``0 <= rejected <= quantity``.

    Raises
    ------
    InvalidDataError
        Listing all failing checks with counts and first offending rows.
    """
    parsed, checks = _parse_receipts(
        supplier=supplier,
        item=item,
        order_date=order_date,
        receipt_date=receipt_date,
        quantity=quantity,
        due_date=due_date,
        asn_date=asn_date,
        quantity_rejected=quantity_rejected,
    )
    problems = []
    for label, bad in checks:
        if bool(bad.any()):
            rows = np.flatnonzero(bad)
            problems.append(f"{label}: {rows.size} row(s), first {rows[:5].tolist()}")
    if problems:
        raise InvalidDataError(
            "Invalid receipt_records: "
            + "; ".join(problems)
            + ". Fix or quarantine these rows (clean_receipt_records drops them and says why)."
        )
    return parsed


@dataclass(frozen=True)
class ReceiptCleaning:
    """Receipt records with the invalid rows dropped, and why.

    Attributes
    ----------
    records : the valid rows.
    dropped_rows : positions (in the input) of the rows left out.
    reasons : one reason per dropped row (checks joined with ``"; "``).
    """

    records: ReceiptRecords
    dropped_rows: IntArray
    reasons: tuple[str, ...]


def clean_receipt_records(
    *,
    supplier: npt.ArrayLike,
    item: npt.ArrayLike,
    order_date: npt.ArrayLike,
    receipt_date: npt.ArrayLike,
    quantity: npt.ArrayLike,
    due_date: npt.ArrayLike | None = None,
    asn_date: npt.ArrayLike | None = None,
    quantity_rejected: npt.ArrayLike | None = None,
) -> ReceiptCleaning:
    """Like :func:`receipt_records`, but rows failing a row check are dropped and reported
    instead of stopping the run (house rule 6: a bad row does not kill a run). Structural
    problems (non-integer codes, lengths) still raise :class:`InvalidDataError`.
    """
    parsed, checks = _parse_receipts(
        supplier=supplier,
        item=item,
        order_date=order_date,
        receipt_date=receipt_date,
        quantity=quantity,
        due_date=due_date,
        asn_date=asn_date,
        quantity_rejected=quantity_rejected,
    )
    n = len(parsed)
    bad_any = np.zeros(n, dtype=bool)
    for _, bad in checks:
        bad_any |= bad
    dropped = np.flatnonzero(bad_any).astype(np.int64)
    reasons = tuple(
        "; ".join(label for label, bad in checks if bool(bad[row])) for row in dropped.tolist()
    )
    keep = ~bad_any
    records = ReceiptRecords(
        supplier=parsed.supplier[keep],
        item=parsed.item[keep],
        order_day=parsed.order_day[keep],
        due_day=parsed.due_day[keep],
        asn_day=parsed.asn_day[keep],
        receipt_day=parsed.receipt_day[keep],
        quantity=parsed.quantity[keep],
        quantity_rejected=parsed.quantity_rejected[keep],
    )
    return ReceiptCleaning(records=records, dropped_rows=dropped, reasons=reasons)


def _parse_receipts(
    *,
    supplier: npt.ArrayLike,
    item: npt.ArrayLike,
    order_date: npt.ArrayLike,
    receipt_date: npt.ArrayLike,
    quantity: npt.ArrayLike,
    due_date: npt.ArrayLike | None,
    asn_date: npt.ArrayLike | None,
    quantity_rejected: npt.ArrayLike | None,
) -> tuple[ReceiptRecords, list[tuple[str, BoolArray]]]:
    """Arrays converted, structural checks raised; row checks returned as masks."""
    s = np.atleast_1d(np.asarray(supplier))
    n = int(s.size)
    i = np.atleast_1d(np.asarray(item))
    problems: list[str] = []
    for name, arr in (("supplier", s), ("item", i)):
        if arr.dtype.kind not in "iu":
            problems.append(f"{name!r} must hold integer codes (dtype {arr.dtype})")
        elif arr.shape != (n,):
            problems.append(f"{name!r} must have {n} values (shape {arr.shape})")
        elif n and int(arr.min()) < 0:
            problems.append(f"{name!r} codes must be >= 0")
    qty = np.atleast_1d(np.asarray(quantity, dtype=np.float64))
    rej = (
        np.atleast_1d(np.asarray(quantity_rejected, dtype=np.float64))
        if quantity_rejected is not None
        else np.zeros(n)
    )
    for name, arr in (("quantity", qty), ("quantity_rejected", rej)):
        if arr.shape != (n,):
            problems.append(f"{name!r} must have {n} values (shape {arr.shape})")
    if problems:
        raise InvalidDataError("Invalid receipt_records: " + "; ".join(problems) + ".")
    order = _days("order_date", order_date, n)
    receipt = _days("receipt_date", receipt_date, n)
    due = _days("due_date", due_date, n) if due_date is not None else np.full(n, np.nan)
    asn = _days("asn_date", asn_date, n) if asn_date is not None else np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        checks: list[tuple[str, BoolArray]] = [
            ("order_date missing", np.isnan(order)),
            ("receipt_date missing", np.isnan(receipt)),
            ("receipt_date before order_date", receipt < order),
            ("quantity not > 0", ~(qty > 0)),
            ("quantity_rejected not in [0, quantity]", ~((rej >= 0) & (rej <= qty))),
        ]
    parsed = ReceiptRecords(
        supplier=s.astype(np.int64),
        item=i.astype(np.int64),
        order_day=order,
        due_day=due,
        asn_day=asn,
        receipt_day=receipt,
        quantity=qty,
        quantity_rejected=rej,
    )
    return parsed, checks


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _sort_order(key: IntArray, lt: FloatArray) -> IntArray:
    """Stable order by (group key, lead time); one integer argsort when lead times are whole
    days (the usual case), a two-key lexsort otherwise."""
    if lt.size and bool(np.all(lt == np.round(lt))):
        lo, hi = float(lt.min()), float(lt.max())
        span = int(hi - lo) + 1
        if int(key.max()) < (2**62) // span:
            composite = key * span + (lt - lo).astype(np.int64)
            return np.argsort(composite, kind="stable").astype(np.int64)
    return np.lexsort((lt, key)).astype(np.int64)


@dataclass(frozen=True)
class _Sums:
    """Additive per-group sums (so supplier totals pool supplier-item totals exactly)."""

    count: FloatArray
    lead: FloatArray
    dev2: FloatArray  # sum of squared deviations from the group mean
    due_n: FloatArray
    on_n: FloatArray
    due_q: FloatArray
    on_q: FloatArray
    qty: FloatArray
    rej: FloatArray
    asn_n: FloatArray
    asn_sum: FloatArray

    def pool(self, starts: IntArray) -> _Sums:
        """Sums over consecutive runs of groups starting at ``starts``."""

        def red(x: FloatArray) -> FloatArray:
            return np.add.reduceat(x, starts, dtype=np.float64)

        count = red(self.count)
        lead = red(self.lead)
        mean = lead / count
        sizes = np.diff(np.append(starts, self.count.size))
        # Pooled squared deviations: within-group plus between-group parts.
        between = self.count * (self.lead / self.count - np.repeat(mean, sizes)) ** 2
        return _Sums(
            count=count,
            lead=lead,
            dev2=red(self.dev2 + between),
            due_n=red(self.due_n),
            on_n=red(self.on_n),
            due_q=red(self.due_q),
            on_q=red(self.on_q),
            qty=red(self.qty),
            rej=red(self.rej),
            asn_n=red(self.asn_n),
            asn_sum=red(self.asn_sum),
        )


def _sums_by_group(
    rec: ReceiptRecords, order: IntArray, starts: IntArray, tolerance: float
) -> tuple[_Sums, FloatArray]:
    """Per-group sums over records sorted by ``order`` with groups starting at ``starts``;
    also returns the sorted lead times."""

    def gsum(values: npt.NDArray[np.float64] | BoolArray) -> FloatArray:
        return np.add.reduceat(values, starts, dtype=np.float64)

    lt = rec.lead_time_days[order]
    count = np.diff(np.append(starts, lt.size)).astype(np.float64)
    lead = gsum(lt)
    dev2 = gsum((lt - np.repeat(lead / count, count.astype(np.int64))) ** 2)
    due = rec.due_day[order]
    receipt = rec.receipt_day[order]
    qty = rec.quantity[order]
    has_due = ~np.isnan(due)
    on_time = has_due & (receipt <= due + tolerance)
    asn = rec.asn_day[order]
    has_asn = ~np.isnan(asn)
    sums = _Sums(
        count=count,
        lead=lead,
        dev2=dev2,
        due_n=gsum(has_due),
        on_n=gsum(on_time),
        due_q=gsum(np.where(has_due, qty, 0.0)),
        on_q=gsum(np.where(on_time, qty, 0.0)),
        qty=gsum(qty),
        rej=gsum(rec.quantity_rejected[order]),
        asn_n=gsum(has_asn),
        asn_sum=gsum(np.where(has_asn, receipt - asn, 0.0)),
    )
    return sums, lt


def _performance(
    sums: _Sums,
    sample: FloatArray,
    *,
    supplier: IntArray,
    item: IntArray,
    levels: FloatArray,
) -> GroupPerformance:
    """Statistics from group sums and the lead-time sample sorted within each group."""
    n = sums.count
    offsets = np.concatenate([[0], np.cumsum(n)]).astype(np.int64)
    pos = offsets[:-1, None] + levels[None, :] * (n[:, None] - 1.0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.ceil(pos).astype(np.int64)
    frac = pos - lo
    return GroupPerformance(
        supplier=supplier,
        item=item,
        n_receipts=n.astype(np.int64),
        lead_time_mean=sums.lead / n,
        lead_time_sd=np.sqrt(_ratio(sums.dev2, n - 1.0)),
        quantile_levels=levels,
        lead_time_quantiles=sample[lo] * (1.0 - frac) + sample[hi] * frac,
        on_time_rate=_ratio(sums.on_n, sums.due_n),
        on_time_quantity_rate=_ratio(sums.on_q, sums.due_q),
        defect_rate=_ratio(sums.rej, sums.qty),
        asn_rate=sums.asn_n / n,
        asn_notice_mean=_ratio(sums.asn_sum, sums.asn_n),
        lead_time_sample=sample,
        offsets=offsets,
    )


def _run_starts(sorted_keys: IntArray) -> IntArray:
    first = np.empty(sorted_keys.size, dtype=bool)
    first[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    return np.flatnonzero(first).astype(np.int64)


def supplier_performance(
    records: ReceiptRecords,
    *,
    tolerance_days: float = 0.0,
    quantile_levels: Sequence[float] = DEFAULT_QUANTILES,
) -> SupplierPerformance:
    """Lead-time distribution, on-time rate and defect rate per supplier-item and supplier.

    A pure function of the receipt history: recompute it (or call
    :func:`update_supplier_performance`) when new receipts arrive.

    Parameters
    ----------
    records : receipt history from :func:`receipt_records`.
    tolerance_days : a receipt is on time when ``receipt_date <= due_date + tolerance_days``.
    quantile_levels : lead-time quantiles to report, each in [0, 1].

    Returns
    -------
    SupplierPerformance

    Examples
    --------
    >>> rec = receipt_records(supplier=[0, 0, 1], item=[5, 5, 5], order_date=[0, 10, 0],
    ...                       receipt_date=[7, 19, 14], due_date=[7, 17, 14], quantity=[10, 10, 5],
    ...                       quantity_rejected=[1, 0, 0])
    >>> perf = supplier_performance(rec)
    >>> perf.by_supplier.lead_time_mean.tolist(), perf.by_supplier.on_time_rate.tolist()
    ([8.0, 14.0], [0.5, 1.0])
    """
    owner = "supplier_performance"
    if not (np.isfinite(tolerance_days) and tolerance_days >= 0):
        raise parameter_error(owner, "tolerance_days", "a finite number >= 0", tolerance_days)
    levels = np.asarray(quantile_levels, dtype=np.float64).ravel()
    if levels.size == 0 or not bool(np.all((levels >= 0) & (levels <= 1))):
        raise parameter_error(owner, "quantile_levels", "probabilities in [0, 1]", levels.tolist())
    if len(records) == 0:
        raise InvalidDataError(
            "supplier_performance needs at least one receipt record; got none. "
            "Use effective_lead_time's defaults for suppliers without history."
        )
    tol = float(tolerance_days)
    span = np.int64(int(records.item.max()) + 1)
    # One sort by (supplier, item, lead time) serves the supplier-item level; supplier
    # totals pool its sums (exact), and only the supplier-level sample needs a second,
    # nearly-sorted, argsort.
    pair_key = records.supplier * span + records.item
    order = _sort_order(pair_key, records.lead_time_days)
    sorted_pair = pair_key[order]
    pair_starts = _run_starts(sorted_pair)
    pair_sums, pair_sample = _sums_by_group(records, order, pair_starts, tol)
    keys = sorted_pair[pair_starts]
    by_pair = _performance(
        pair_sums, pair_sample, supplier=keys // span, item=keys % span, levels=levels
    )
    pair_supplier = keys // span
    sup_group_starts = _run_starts(pair_supplier)
    sup_sums = pair_sums.pool(sup_group_starts)
    sorted_supplier = sorted_pair // span
    sup_order = _sort_order(sorted_supplier, pair_sample)
    by_sup = _performance(
        sup_sums,
        pair_sample[sup_order],
        supplier=pair_supplier[sup_group_starts],
        item=np.full(sup_group_starts.size, -1, dtype=np.int64),
        levels=levels,
    )
    return SupplierPerformance(
        by_supplier_item=by_pair, by_supplier=by_sup, tolerance_days=tol, records=records
    )


def update_supplier_performance(
    previous: SupplierPerformance, new_records: ReceiptRecords
) -> SupplierPerformance:
    """Performance after new receipts arrive; equal to recomputing on the whole history.

    Quantiles need the full sample, so the statistics are recomputed over the stored history
    plus the new records (grouping is O(n log n), a fraction of a second for a million
    receipts); the previous result is not modified.
    """
    return supplier_performance(
        previous.records.concat(new_records),
        tolerance_days=previous.tolerance_days,
        quantile_levels=tuple(previous.by_supplier.quantile_levels.tolist()),
    )


def _lookup(keys_s: IntArray, keys_i: IntArray, s: IntArray, i: IntArray) -> IntArray:
    """Row of each (s, i) among sorted group keys, -1 when absent."""
    span = np.int64(max(int(keys_i.max(initial=0)), int(i.max(initial=0))) + 2)
    key = keys_s * span + (keys_i + 1)
    want = s * span + (i + 1)
    pos = np.searchsorted(key, want)
    pos_c = np.minimum(pos, key.size - 1)
    found = (key.size > 0) & (key[pos_c] == want)
    return np.where(found, pos_c, -1).astype(np.int64)


def effective_lead_time(
    performance: SupplierPerformance,
    supplier: npt.ArrayLike,
    item: npt.ArrayLike,
    *,
    period_days: float = 1.0,
    min_receipts: int = 5,
    default_mean_days: npt.ArrayLike = np.nan,
    default_sd_days: npt.ArrayLike = 0.0,
) -> EffectiveLeadTime:
    """Lead-time mean and standard deviation for safety stock, in planning periods.

    Per requested (supplier, item): the supplier-item history when it has at least
    ``min_receipts`` receipts, else the supplier's history across items when that has enough,
    else the defaults (e.g. the quoted lead time from supplier_items, sd 0). Feed the result
    into the lead-time demand variance ``sigma_X^2 = E(L) sigma_D^2 + D^2 sigma_L^2``
    (Silver, Pyke and Thomas 2017, section 7.11).

    Parameters
    ----------
    performance : from :func:`supplier_performance`.
    supplier, item : (M,) codes to look up.
    period_days : days per planning period (1 daily, 7 weekly, ~30.44 monthly).
    min_receipts : receipts needed to trust a level (>= 2 so an sd exists).
    default_mean_days, default_sd_days : scalar or (M,) fallbacks in days.
    """
    owner = "effective_lead_time"
    if not (np.isfinite(period_days) and period_days > 0):
        raise parameter_error(owner, "period_days", "a finite number > 0", period_days)
    if not (isinstance(min_receipts, int | np.integer) and min_receipts >= 2):
        raise parameter_error(owner, "min_receipts", "an integer >= 2", min_receipts)
    s = np.atleast_1d(np.asarray(supplier)).astype(np.int64)
    i = np.atleast_1d(np.asarray(item)).astype(np.int64)
    if s.shape != i.shape or s.ndim != 1:
        raise parameter_error(owner, "item", f"the same length as 'supplier' ({s.size})", i.shape)
    m = s.size
    dmean = np.broadcast_to(np.asarray(default_mean_days, dtype=np.float64), (m,))
    dsd = np.broadcast_to(np.asarray(default_sd_days, dtype=np.float64), (m,))
    pair = performance.by_supplier_item
    sup = performance.by_supplier
    p_row = _lookup(pair.supplier, pair.item, s, i)
    s_row = _lookup(sup.supplier, sup.item, s, np.full(m, -1, dtype=np.int64))
    p_ok = (p_row >= 0) & (pair.n_receipts[np.maximum(p_row, 0)] >= min_receipts)
    s_ok = ~p_ok & (s_row >= 0) & (sup.n_receipts[np.maximum(s_row, 0)] >= min_receipts)
    pr, sr = np.maximum(p_row, 0), np.maximum(s_row, 0)

    def pick(a: FloatArray, b: FloatArray, default: FloatArray) -> FloatArray:
        return np.where(p_ok, a[pr], np.where(s_ok, b[sr], default))

    mean = pick(pair.lead_time_mean, sup.lead_time_mean, dmean) / period_days
    sd = pick(pair.lead_time_sd, sup.lead_time_sd, dsd) / period_days
    n = np.where(p_ok, pair.n_receipts[pr], np.where(s_ok, sup.n_receipts[sr], 0))
    source = np.where(p_ok, "supplier_item", np.where(s_ok, "supplier", "default"))
    return EffectiveLeadTime(
        mean=mean.astype(np.float64),
        sd=sd.astype(np.float64),
        n_receipts=n.astype(np.int64),
        source=tuple(source.tolist()),
        on_time_rate=pick(pair.on_time_rate, sup.on_time_rate, np.full(m, np.nan)),
        defect_rate=pick(pair.defect_rate, sup.defect_rate, np.zeros(m)),
    )


def defect_adjustment(
    order_quantity: npt.ArrayLike,
    safety_stock: npt.ArrayLike,
    defect_rate: npt.ArrayLike,
    *,
    z: npt.ArrayLike | None = None,
) -> DefectAdjustment:
    """Inflate supply and safety stock for a rejection rate ``p``.

    The good units from a gross order ``G`` are binomial with mean ``G (1 - p)`` and variance
    ``G p (1 - p)`` (Yano and Lee 1995). To receive ``Q`` good units on average order
    ``G = Q / (1 - p)``. Safety stock held against demand uncertainty ``SS = z sigma`` is
    also expressed in gross units, ``SS / (1 - p)``; when ``z`` is given, the yield
    uncertainty of one order is added in quadrature (hand-derived, independence assumed):

    ``SS_gross = z sqrt(sigma^2 + G p (1 - p)) / (1 - p)`` with ``sigma = SS / z``.

    Parameters
    ----------
    order_quantity : Q, good units wanted per order (>= 0).
    safety_stock : SS in good units (>= 0).
    defect_rate : p in [0, 1).
    z : safety factor; when omitted the yield-variance term is not added.
    """
    owner = "defect_adjustment"
    q = np.atleast_1d(np.asarray(order_quantity, dtype=np.float64))
    ss = np.atleast_1d(np.asarray(safety_stock, dtype=np.float64))
    p = np.atleast_1d(np.asarray(defect_rate, dtype=np.float64))
    if not bool(np.all((p >= 0) & (p < 1))):
        raise parameter_error(owner, "defect_rate", "in [0, 1)", p[~((p >= 0) & (p < 1))][0])
    if not bool(np.all(q >= 0)):
        raise parameter_error(owner, "order_quantity", "finite values >= 0", q[~(q >= 0)][0])
    if not bool(np.all(ss >= 0)):
        raise parameter_error(owner, "safety_stock", "finite values >= 0", ss[~(ss >= 0)][0])
    q, ss, p = np.broadcast_arrays(q, ss, p)
    gross = q / (1.0 - p)
    yield_sd = np.sqrt(gross * p * (1.0 - p))
    if z is None:
        adj = ss / (1.0 - p)
    else:
        zz = np.broadcast_to(np.asarray(z, dtype=np.float64), q.shape)
        if not bool(np.all(zz > 0)):
            raise parameter_error(owner, "z", "> 0", zz[~(zz > 0)][0])
        sigma = ss / zz
        adj = zz * np.sqrt(sigma**2 + yield_sd**2) / (1.0 - p)
    return DefectAdjustment(
        gross_order_quantity=gross.astype(np.float64),
        safety_stock=adj.astype(np.float64),
        yield_sd=yield_sd.astype(np.float64),
    )
