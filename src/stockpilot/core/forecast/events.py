"""Known events and manual overrides: adjust forecasts, log every change, cleanse history.

An :class:`ForecastEvent` (promotion, shutdown, ...) changes the forecast of the series in
its :class:`EventScope` over its date range: by an uplift (``0.2`` = +20 %), to an absolute
quantity per period, or to zero (shutdown). Every changed cell yields an
:class:`OverrideRecord` with author, reason, UTC time, old and new value, which the store
persists in the audit trail.

Events applied in the order given, each on the value the previous ones left; ``zero``
events are applied last so a shutdown always wins over a promotion in the same period.

History cleansing (:func:`cleanse_history`) replaces the demand of past event periods by a
baseline estimate, the mean of the unaffected observed periods within ``radius`` periods
on both sides, so a promotion does not inflate the baseline the models learn from
(the "demand cleansing" step of Silver, Pyke and Thomas 2017, section 4.9.2).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from numbers import Real
from typing import TypeVar, assert_never

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stockpilot.core.calendar import bucket_ends, days, firsts_of_month, is_monday
from stockpilot.errors import InvalidDataError, choice_error, parameter_error
from stockpilot.vocab import Bucket

__all__ = [
    "AdjustmentType",
    "CleansedHistory",
    "EventAdjustment",
    "EventKind",
    "EventScope",
    "ForecastEvent",
    "OverrideRecord",
    "apply_events",
    "cleanse_history",
    "event_mask",
    "manual_override",
]


class EventKind(StrEnum):
    PROMOTION = "promotion"
    SHUTDOWN = "shutdown"
    PRICE_CHANGE = "price_change"
    OTHER = "other"


class AdjustmentType(StrEnum):
    UPLIFT_PCT = "uplift_pct"  # value 0.2 = +20 %
    ABSOLUTE = "absolute"  # value = quantity per period
    ZERO = "zero"  # shutdown


_Vocabulary = TypeVar("_Vocabulary", bound=StrEnum)


def _member(vocabulary: type[_Vocabulary], value: object, owner: str, name: str) -> _Vocabulary:
    """``value`` as a member of ``vocabulary``: the member itself or its exact string value."""
    if isinstance(value, vocabulary):
        return value
    if isinstance(value, str) and not isinstance(value, StrEnum):
        try:
            return vocabulary(value)
        except ValueError:
            pass
    raise choice_error(owner, name, value, [m.value for m in vocabulary])


@dataclass(frozen=True)
class EventScope:
    """Which series an event touches; ``None`` means all.

    ``hierarchy`` maps an attribute (``category``, ``brand``, a hierarchy level) to the
    values it matches; the per-series attributes are passed to :func:`apply_events`.
    """

    item_ids: tuple[str, ...] | None = None
    location_ids: tuple[str, ...] | None = None
    hierarchy: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # one code given as a plain string is that code, not its characters
        for name in ("item_ids", "location_ids"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _codes(value))
        object.__setattr__(self, "hierarchy", {k: _codes(v) for k, v in self.hierarchy.items()})


def _codes(value: str | Iterable[str]) -> tuple[str, ...]:
    """Codes as a tuple of strings: one string is one code."""
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


@dataclass(frozen=True)
class ForecastEvent:
    """A known event over the inclusive date range [start, end].

    ``kind`` and ``adjustment`` take the enum member or its exact string value
    (``"promotion"``, ``"uplift_pct"``); strings are converted to the member, anything else
    raises :class:`~stockpilot.errors.InvalidParameterError` listing the valid values.
    """

    event_id: str
    kind: EventKind
    start: date
    end: date
    adjustment: AdjustmentType
    value: float = 0.0
    scope: EventScope = field(default_factory=EventScope)
    author: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        owner = f"ForecastEvent {self.event_id!r}"
        # frozen: the validated members replace the strings once, here
        object.__setattr__(self, "kind", _member(EventKind, self.kind, owner, "kind"))
        adjustment = _member(AdjustmentType, self.adjustment, owner, "adjustment")
        object.__setattr__(self, "adjustment", adjustment)
        if self.end < self.start:
            raise parameter_error(owner, "end", f"a date on or after start {self.start}", self.end)
        if not (isinstance(self.value, Real) and math.isfinite(self.value)):
            # an infinite uplift or quantity made the mean and every quantile inf
            raise parameter_error(
                owner, "value", "a finite number (an uplift or a quantity per period)", self.value
            )
        if self.adjustment is AdjustmentType.UPLIFT_PCT and not self.value > -1.0:
            raise parameter_error(owner, "value", "an uplift > -1 (0.2 = +20 %)", self.value)
        if self.adjustment is AdjustmentType.ABSOLUTE and not self.value >= 0:
            raise parameter_error(owner, "value", "a quantity per period >= 0", self.value)
        if not self.author.strip():
            raise parameter_error(
                owner, "author", "a non-empty name (overrides are audited)", self.author
            )
        if not self.reason.strip():
            raise parameter_error(
                owner, "reason", "a non-empty reason (overrides are audited)", self.reason
            )


@dataclass(frozen=True)
class OverrideRecord:
    """One changed forecast cell: what, who, why, when, old and new value."""

    item_id: str
    location_id: str
    period_start: date
    old_value: float
    new_value: float
    author: str
    reason: str
    timestamp: datetime
    event_id: str | None = None


@dataclass(frozen=True)
class EventAdjustment:
    """Adjusted (N, h) forecast, mask of changed cells and the audit records."""

    values: NDArray[np.float64]
    changed: NDArray[np.bool_]
    records: tuple[OverrideRecord, ...]


@dataclass(frozen=True)
class CleansedHistory:
    """History with event periods replaced by a baseline; ``original`` keeps the raw values."""

    values: NDArray[np.float64]
    original: NDArray[np.float64]
    replaced: NDArray[np.bool_]


def _as_str(a: ArrayLike | Sequence[str], n: int, name: str) -> NDArray[np.str_]:
    arr = np.asarray(a).astype(str).reshape(-1)
    if arr.size != n:
        raise InvalidDataError(f"{name} has {arr.size} values for {n} series.")
    return arr


def _bucket_of(starts: NDArray[np.datetime64], bucket: Bucket | str | None, owner: str) -> Bucket:
    """The bucket of the period ``starts``: ``bucket`` when given, else inferred from them."""
    if bucket is not None:
        return _member(Bucket, bucket, owner, "bucket")
    distinct = np.unique(starts)
    if distinct.size == 0:
        return Bucket.DAY
    if firsts_of_month(distinct):
        return Bucket.MONTH
    if distinct.size == 1:
        # one start cannot show its bucket: take the longest one it can begin
        return Bucket.WEEK if is_monday(distinct[0]) else Bucket.DAY
    gap = int(np.diff(distinct).astype(np.int64).min())
    if gap == 7:
        return Bucket.WEEK
    if gap == 1:
        return Bucket.DAY
    shown = ", ".join(str(d) for d in distinct[:3])
    raise InvalidDataError(
        f"{owner}: cannot tell the bucket of the periods ({shown}, ...): the closest starts are "
        f"{gap} days apart, not 1 (day) or 7 (week), and they are not all on the 1st of a "
        "month; pass bucket='day', 'week' or 'month'."
    )


def event_mask(
    event: ForecastEvent,
    *,
    item_ids: ArrayLike | Sequence[str],
    location_ids: ArrayLike | Sequence[str],
    periods: ArrayLike,
    attributes: Mapping[str, ArrayLike] | None = None,
    period_ends: ArrayLike | None = None,
    bucket: Bucket | str | None = None,
) -> NDArray[np.bool_]:
    """(N, P) True where ``event`` applies: series in scope and period overlapping its dates.

    A bucket ``[periods[k], end_k]`` overlaps the event when it shares at least one day with
    it. Each bucket's last day ``end_k`` comes from the bucket itself: the day (``day``),
    its start + 6 days (``week``) or the last day of its month (``month``).

    Parameters
    ----------
    event
        The event.
    item_ids, location_ids
        (N,) keys of the rows.
    periods
        (P,) bucket starts.
    attributes
        Per-series hierarchy attributes for scopes with ``hierarchy``.
    period_ends
        (P,) last days of the buckets, when they are not whole days, weeks or months;
        not together with ``bucket``.
    bucket
        ``"day"``, ``"week"`` or ``"month"``. ``None`` infers it from ``periods``: all on
        the 1st of a month -> month; else the smallest gap between starts, 7 -> week,
        1 -> day (any other gap is an error asking for ``bucket``). A single start cannot
        show its bucket: on the 1st of a month it is taken as a month, else on a Monday as
        a week, else as a day; pass ``bucket`` for a one-day or one-week horizon that
        starts on the 1st (or a one-day horizon on a Monday).

    Examples
    --------
    >>> from datetime import date
    >>> ev = ForecastEvent("P1", EventKind.PROMOTION, date(2025, 3, 30), date(2025, 3, 31),
    ...                    AdjustmentType.UPLIFT_PCT, 0.5, author="ann", reason="flyer")
    >>> months = np.array(["2025-02-01", "2025-03-01"], dtype="datetime64[D]")
    >>> event_mask(ev, item_ids=["A"], location_ids=["L"], periods=months).tolist()
    [[False, True]]
    """
    owner = "event_mask"
    items = np.asarray(item_ids).astype(str).reshape(-1)
    n = items.size
    locs = _as_str(location_ids, n, "location_ids")
    starts = days(periods)
    ends: NDArray[np.datetime64]
    if period_ends is None:
        ends = bucket_ends(starts, _bucket_of(starts, bucket, owner))
    elif bucket is not None:
        raise parameter_error(
            owner, "bucket", "None when period_ends is given (the ends say it)", bucket
        )
    else:
        ends = days(period_ends)
        if ends.size != starts.size:
            raise InvalidDataError(
                f"{owner}: {ends.size} period_ends for {starts.size} periods; give one each."
            )
    in_time = (starts <= np.datetime64(event.end, "D")) & (ends >= np.datetime64(event.start, "D"))
    in_scope = np.ones(n, dtype=bool)
    sc = event.scope
    if sc.item_ids is not None:
        in_scope &= np.isin(items, np.asarray(sc.item_ids, dtype=str))
    if sc.location_ids is not None:
        in_scope &= np.isin(locs, np.asarray(sc.location_ids, dtype=str))
    for level, allowed in sc.hierarchy.items():
        if attributes is None or level not in attributes:
            raise InvalidDataError(
                f"Event {event.event_id!r} is scoped by hierarchy level {level!r}, but no such "
                f"attribute was given; pass attributes={{{level!r}: <one value per series>}}."
            )
        values = _as_str(attributes[level], n, f"attribute {level!r}")
        in_scope &= np.isin(values, np.asarray(allowed, dtype=str))
    return in_scope[:, None] & in_time[None, :]


def _records(
    *,
    rows: NDArray[np.intp],
    cols: NDArray[np.intp],
    old: NDArray[np.float64],
    new: NDArray[np.float64],
    items: NDArray[np.str_],
    locs: NDArray[np.str_],
    starts: NDArray[np.datetime64],
    author: str,
    reason: str,
    when: datetime,
    event_id: str | None,
) -> list[OverrideRecord]:
    return [
        OverrideRecord(
            str(items[r]),
            str(locs[r]),
            starts[c].astype(date),
            float(o),
            float(v),
            author,
            reason,
            when,
            event_id,
        )
        for r, c, o, v in zip(rows.tolist(), cols.tolist(), old.tolist(), new.tolist(), strict=True)
    ]


def apply_events(
    forecast: ArrayLike,
    events: Sequence[ForecastEvent],
    *,
    item_ids: ArrayLike | Sequence[str],
    location_ids: ArrayLike | Sequence[str],
    periods: ArrayLike,
    attributes: Mapping[str, ArrayLike] | None = None,
    now: datetime | None = None,
    bucket: Bucket | str | None = None,
) -> EventAdjustment:
    """Apply events to an (N, h) forecast and log every changed cell.

    Parameters
    ----------
    forecast
        (N, h) forecast (mean or one quantile) of the series in row order.
    events
        Events, applied in order (``zero`` ones last).
    item_ids, location_ids
        (N,) keys of the rows.
    periods
        (h,) bucket starts of the forecast columns.
    attributes
        Per-series hierarchy attributes for scopes with ``hierarchy``.
    now
        Timestamp of the records (UTC); defaults to the current time.
    bucket
        ``"day"``, ``"week"`` or ``"month"`` of ``periods``; ``None`` infers it (see
        :func:`event_mask`). A bucket is changed when it shares any day with the event.

    Examples
    --------
    >>> from datetime import date
    >>> ev = ForecastEvent("P1", EventKind.PROMOTION, date(2024, 2, 1), date(2024, 2, 29),
    ...                    AdjustmentType.UPLIFT_PCT, 0.5, author="ann", reason="flyer")
    >>> r = apply_events([[10.0, 10.0]], [ev], item_ids=["A"], location_ids=["L"],
    ...                  periods=np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[D]"))
    >>> r.values.tolist(), r.records[0].old_value, r.records[0].new_value
    ([[10.0, 15.0]], 10.0, 15.0)
    """
    values = np.atleast_2d(np.asarray(forecast, dtype=np.float64)).copy()
    n, h = values.shape
    items = _as_str(item_ids, n, "item_ids")
    locs = _as_str(location_ids, n, "location_ids")
    starts = days(periods)
    if starts.size != h:
        raise InvalidDataError(f"apply_events: {starts.size} periods for {h} forecast columns.")
    ends = bucket_ends(starts, _bucket_of(starts, bucket, "apply_events"))
    when = (now or datetime.now(UTC)).astimezone(UTC)
    changed = np.zeros((n, h), dtype=bool)
    records: list[OverrideRecord] = []
    ordered = [e for e in events if e.adjustment is not AdjustmentType.ZERO] + [
        e for e in events if e.adjustment is AdjustmentType.ZERO
    ]
    for ev in ordered:
        mask = event_mask(
            ev,
            item_ids=items,
            location_ids=locs,
            periods=starts,
            attributes=attributes,
            period_ends=ends,
        )
        if not mask.any():
            continue
        rows, cols = np.nonzero(mask)
        old = values[rows, cols]
        if ev.adjustment is AdjustmentType.UPLIFT_PCT:
            new = old * (1.0 + ev.value)
        elif ev.adjustment is AdjustmentType.ABSOLUTE:
            new = np.full_like(old, ev.value)
        elif ev.adjustment is AdjustmentType.ZERO:
            new = np.zeros_like(old)
        else:  # unreachable: ForecastEvent converts or rejects every other adjustment
            assert_never(ev.adjustment)
        values[rows, cols] = new
        changed[rows, cols] = True
        diff = old != new
        records += _records(
            rows=rows[diff],
            cols=cols[diff],
            old=old[diff],
            new=new[diff],
            items=items,
            locs=locs,
            starts=starts,
            author=ev.author,
            reason=f"{ev.kind.value}: {ev.reason}",
            when=when,
            event_id=ev.event_id,
        )
    return EventAdjustment(values, changed, tuple(records))


def manual_override(
    forecast: ArrayLike,
    *,
    rows: ArrayLike,
    cols: ArrayLike,
    new_values: ArrayLike,
    author: str,
    reason: str,
    item_ids: ArrayLike | Sequence[str],
    location_ids: ArrayLike | Sequence[str],
    periods: ArrayLike,
    now: datetime | None = None,
) -> EventAdjustment:
    """A planner's direct change of forecast cells, logged like an event.

    >>> r = manual_override([[4.0, 4.0]], rows=[0], cols=[1], new_values=[6.0], author="bo",
    ...     reason="customer call", item_ids=["A"], location_ids=["L"],
    ...     periods=np.array(["2024-01-01", "2024-01-08"], dtype="datetime64[D]"))
    >>> r.values.tolist(), r.records[0].reason
    ([[4.0, 6.0]], 'customer call')
    """
    if not author.strip():
        raise parameter_error("manual_override", "author", "a non-empty name", author)
    if not reason.strip():
        raise parameter_error("manual_override", "reason", "a non-empty reason", reason)
    values = np.atleast_2d(np.asarray(forecast, dtype=np.float64)).copy()
    n, h = values.shape
    r = np.asarray(rows, dtype=np.intp).reshape(-1)
    c = np.asarray(cols, dtype=np.intp).reshape(-1)
    v = np.asarray(new_values, dtype=np.float64).reshape(-1)
    if not (r.size == c.size == v.size):
        raise InvalidDataError("manual_override: rows, cols and new_values must have equal length.")
    if r.size and (r.min() < 0 or r.max() >= n or c.min() < 0 or c.max() >= h):
        raise InvalidDataError(f"manual_override: a cell lies outside the ({n}, {h}) forecast.")
    if np.any(~(v >= 0)):
        raise parameter_error("manual_override", "new_values", "quantities >= 0", v.tolist()[:5])
    old = values[r, c]
    values[r, c] = v
    changed = np.zeros((n, h), dtype=bool)
    changed[r, c] = True
    when = (now or datetime.now(UTC)).astimezone(UTC)
    recs = _records(
        rows=r,
        cols=c,
        old=old,
        new=v,
        items=_as_str(item_ids, n, "item_ids"),
        locs=_as_str(location_ids, n, "location_ids"),
        starts=days(periods),
        author=author,
        reason=reason,
        when=when,
        event_id=None,
    )
    return EventAdjustment(values, changed, tuple(recs))


def cleanse_history(history: ArrayLike, mask: ArrayLike, *, radius: int = 4) -> CleansedHistory:
    """Replace event periods of the history by a local baseline.

    Each masked, observed cell becomes the mean of the unmasked observed cells within
    ``radius`` periods on both sides (the same series). When there is none, the mean of all
    unmasked observed cells of the series is used; when the series has none at all the
    value is kept.

    Parameters
    ----------
    history
        (N, T) demand, NaN before each series' first observation.
    mask
        (N, T) True at past event periods (see :func:`event_mask`).

    Examples
    --------
    >>> c = cleanse_history([[10.0, 10.0, 40.0, 12.0, 12.0]], [[0, 0, 1, 0, 0]], radius=2)
    >>> c.values.tolist()
    [[10.0, 10.0, 11.0, 12.0, 12.0]]
    """
    if radius < 1:
        raise parameter_error("cleanse_history", "radius", "an integer >= 1", radius)
    y = np.atleast_2d(np.asarray(history, dtype=np.float64))
    m = np.atleast_2d(np.asarray(mask, dtype=bool))
    if m.shape != y.shape:
        raise InvalidDataError(f"cleanse_history: mask {m.shape} and history {y.shape} differ.")
    good = ~m & ~np.isnan(y)
    vals = np.where(good, y, 0.0)
    n, t = y.shape
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(vals, axis=1)], axis=1)
    ccnt = np.concatenate([np.zeros((n, 1)), np.cumsum(good, axis=1)], axis=1)
    idx = np.arange(t)
    lo = np.clip(idx - radius, 0, t)
    hi = np.clip(idx + radius + 1, 0, t)
    wsum = csum[:, hi] - csum[:, lo]
    wcnt = ccnt[:, hi] - ccnt[:, lo]
    total_cnt = good.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        local = wsum / wcnt
        overall = vals.sum(axis=1) / total_cnt
    baseline = np.where(wcnt > 0, local, overall[:, None])
    replace = m & ~np.isnan(y) & ~np.isnan(baseline)
    out = np.where(replace, baseline, y)
    return CleansedHistory(out, y.copy(), replace)
