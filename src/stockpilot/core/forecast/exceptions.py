"""Forecast exceptions: tolerance rules that send series to a review queue, each with a reason.

Rules are evaluated on a monitoring window: the last ``window`` periods of actuals and
the forecasts that had been made for them. All series are checked at once.

====================  ==========================================================================
rule                  fires when
====================  ==========================================================================
``error``             WAPE over the window, :math:`\\sum|e|/\\sum y`, exceeds ``max_error``
``tracking_signal``   :math:`|\\sum e / MAD|` exceeds ``tracking_signal_limit`` (Silver, Pyke
                      and Thomas 2017, section 4.8.1; a limit of 4 to 6 is usual)
``persistent_bias``   the last ``bias_run`` errors all have the same sign (each non-zero)
``level_shift``       the mean of the last ``level_shift_window`` actuals differs from the mean
                      of the window before by more than ``level_shift_relative`` of it *and*
                      by more than ``level_shift_z`` standard errors
====================  ==========================================================================

Errors are :math:`e = y - \\hat y` (positive: under-forecast). A period counts only with
both an actual and a forecast (NaN is missing): a series with no such period in the window
is not flagged. :math:`|\\sum e| \\le n \\, MAD`, so the tracking signal cannot exceed
the number of periods :math:`n`; rules that cannot fire for lack of periods are listed in
:attr:`ExceptionReport.inactive_rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stockpilot.core.forecast.metrics import tracking_signal, wape
from stockpilot.errors import InvalidDataError, parameter_error

__all__ = ["ExceptionFlag", "ExceptionReport", "ExceptionRule", "ExceptionRules", "find_exceptions"]


class ExceptionRule(StrEnum):
    ERROR = "error"
    TRACKING_SIGNAL = "tracking_signal"
    PERSISTENT_BIAS = "persistent_bias"
    LEVEL_SHIFT = "level_shift"


@dataclass(frozen=True)
class ExceptionRules:
    """Configurable tolerances (see the module table). ``None`` switches a rule off."""

    window: int = 6
    max_error: float | None = 0.5
    tracking_signal_limit: float | None = 4.0
    bias_run: int | None = 6
    level_shift_window: int | None = 6
    level_shift_relative: float = 0.3
    level_shift_z: float = 3.0

    def __post_init__(self) -> None:
        owner = "ExceptionRules"
        if self.window < 1:
            raise parameter_error(owner, "window", "an integer >= 1", self.window)
        if self.max_error is not None and not self.max_error > 0:
            raise parameter_error(owner, "max_error", "a float > 0 (0.5 = 50 %)", self.max_error)
        if self.tracking_signal_limit is not None and not self.tracking_signal_limit > 0:
            raise parameter_error(
                owner, "tracking_signal_limit", "a float > 0", self.tracking_signal_limit
            )
        if self.bias_run is not None and self.bias_run < 2:
            raise parameter_error(owner, "bias_run", "an integer >= 2", self.bias_run)
        if self.level_shift_window is not None and self.level_shift_window < 2:
            raise parameter_error(
                owner, "level_shift_window", "an integer >= 2", self.level_shift_window
            )
        if not self.level_shift_relative >= 0 or not self.level_shift_z >= 0:
            raise parameter_error(
                owner,
                "level_shift_relative/level_shift_z",
                "floats >= 0",
                (self.level_shift_relative, self.level_shift_z),
            )


@dataclass(frozen=True)
class ExceptionFlag:
    """One rule fired on one series: ``row`` indexes the input matrices."""

    row: int
    rule: ExceptionRule
    value: float
    limit: float
    reason: str


@dataclass(frozen=True)
class ExceptionReport:
    """All flags, plus per-rule boolean vectors (length N) for fast filtering.

    ``inactive_rules`` are the switched-on rules that could not fire on any series for
    lack of periods, with one sentence each in ``notes`` saying why and what they need.
    """

    flags: tuple[ExceptionFlag, ...]
    error: NDArray[np.bool_]
    tracking_signal: NDArray[np.bool_]
    persistent_bias: NDArray[np.bool_]
    level_shift: NDArray[np.bool_]
    inactive_rules: tuple[ExceptionRule, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def flagged(self) -> NDArray[np.bool_]:
        """True for series with at least one flag (the review queue)."""
        return self.error | self.tracking_signal | self.persistent_bias | self.level_shift

    def reasons(self) -> list[str]:
        """One string per series joining its reasons with '; ' (empty when not flagged)."""
        out = [""] * self.error.size
        for f in self.flags:
            out[f.row] = f.reason if not out[f.row] else f"{out[f.row]}; {f.reason}"
        return out


def _persistent_run(err: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Length of the run of same-signed non-zero errors ending at the last measured period,
    and its sign. A NaN error (no actual or no forecast) is skipped, not a break."""
    measured = ~np.isnan(err)
    # the measured errors of each row moved to its end, in their order
    order = np.argsort(measured, axis=1, kind="stable")
    sign = np.sign(np.take_along_axis(np.where(measured, err, 0.0), order, axis=1))
    last = sign[:, -1]
    same = (sign == last[:, None]) & (sign != 0)
    # run length = number of trailing True values
    rev = same[:, ::-1]
    run = np.where(rev.all(axis=1), rev.shape[1], np.argmin(rev, axis=1))
    return run.astype(np.int64), last


def _mean_and_variance(x: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per row mean and sample variance (ddof 1) of the non-NaN values; NaN where a row has
    too few (a new series): numpy's nanmean/nanvar would warn for each such row."""
    observed = ~np.isnan(x)
    count = observed.sum(axis=1)
    filled = np.where(observed, x, 0.0)
    mean = np.where(count > 0, filled.sum(axis=1) / np.maximum(count, 1), np.nan)
    squares = np.where(observed, (x - mean[:, None]) ** 2, 0.0).sum(axis=1)
    variance = np.where(count > 1, squares / np.maximum(count - 1, 1), np.nan)
    return mean, variance


def _checked_inputs(
    actual: ArrayLike, forecast: ArrayLike, history: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``actual``, ``forecast`` and ``history`` (``actual`` when omitted) as float (N, W)
    and (N, T) matrices; every shape and infinite-value problem reported at once."""
    arrays = {"actual": actual, "forecast": forecast}
    if history is not None:
        arrays["history"] = history
    matrices: dict[str, NDArray[np.float64]] = {}
    problems: list[str] = []
    for name, given in arrays.items():
        m = np.atleast_2d(np.asarray(given, dtype=np.float64))
        if m.ndim != 2:
            problems.append(f"{name} must be an (N, periods) matrix, got shape {m.shape}")
            continue
        matrices[name] = m
        infinite = np.flatnonzero(np.isinf(m).any(axis=1))
        if infinite.size:
            problems.append(
                f"{name} holds infinite values in {infinite.size} row(s) "
                f"{infinite[:10].tolist()} (use NaN for a missing value)"
            )
    a, f = matrices.get("actual"), matrices.get("forecast")
    if a is not None and f is not None and a.shape != f.shape:
        problems.append(f"actual {a.shape} and forecast {f.shape} must have the same shape")
    h = matrices.get("history")
    if a is not None and h is not None and h.shape[0] != a.shape[0]:
        problems.append(
            f"history has {h.shape[0]} row(s) (shape {h.shape}) but actual has "
            f"{a.shape[0]} series: give one history row per series, in the same order"
        )
    if problems or a is None or f is None:
        raise InvalidDataError("find_exceptions: " + "; ".join(problems) + ".")
    return a, f, a if h is None else h


def find_exceptions(
    actual: ArrayLike,
    forecast: ArrayLike,
    *,
    history: ArrayLike | None = None,
    rules: ExceptionRules | None = None,
) -> ExceptionReport:
    """Apply the tolerance rules to N series.

    Parameters
    ----------
    actual, forecast
        (N, W) actuals of the recent periods and the forecasts made for them; only the
        last ``rules.window`` columns are used by the error and tracking-signal rules and
        the last ``rules.bias_run`` by the bias rule.
    history
        (N, T) demand history ending with the recent periods, one row per series, for the
        level-shift rule (``actual`` is used when omitted).
    rules
        :class:`ExceptionRules`; defaults when omitted.

    Raises
    ------
    InvalidDataError
        When ``actual`` and ``forecast`` differ in shape, ``history`` does not have one
        row per series, or any of them holds an infinite value (the rows are named; a
        missing value is NaN). All problems are reported together.

    Examples
    --------
    >>> r = find_exceptions([[10.0] * 6], [[5.0] * 6])
    >>> r.reasons()[0].split("; ")[0]
    'error: WAPE 50.0% over the last 6 periods exceeds 50.0% (max_error)'
    """
    c = ExceptionRules() if rules is None else rules
    a, f, hist = _checked_inputs(actual, forecast, history)
    n = a.shape[0]
    # a period counts only with both an actual and a forecast (NaN = missing)
    unpaired = np.isnan(a) | np.isnan(f)
    a_paired, f_paired = np.where(unpaired, np.nan, a), np.where(unpaired, np.nan, f)
    w = min(c.window, a.shape[1])
    aw, fw = a_paired[:, -w:], f_paired[:, -w:]
    measured = (~unpaired[:, -w:]).sum(axis=1)
    flags: list[ExceptionFlag] = []
    no = np.zeros(n, dtype=bool)
    err_flag, ts_flag, bias_flag, shift_flag = no.copy(), no.copy(), no.copy(), no.copy()

    if c.max_error is not None:
        value = wape(aw, fw)
        err_flag = np.nan_to_num(value, nan=0.0) >= c.max_error - 1e-12
        # measured actuals all zero with a non-zero forecast: infinite relative error
        zero_act = (
            (measured > 0)
            & (np.nansum(np.abs(aw), axis=1) == 0)
            & (np.nansum(np.abs(fw), axis=1) > 0)
        )
        err_flag |= zero_act
        for i in np.flatnonzero(err_flag):
            v = float("inf") if zero_act[i] else float(value[i])
            span = f"the last {w}" if measured[i] == w else f"{measured[i]} of the last {w}"
            flags.append(
                ExceptionFlag(
                    int(i),
                    ExceptionRule.ERROR,
                    v,
                    c.max_error,
                    f"error: WAPE {v:.1%} over {span} periods exceeds "
                    f"{c.max_error:.1%} (max_error)",
                )
            )
    if c.tracking_signal_limit is not None:
        ts = tracking_signal(aw, fw)
        ts_flag = np.abs(np.nan_to_num(ts, nan=0.0)) > c.tracking_signal_limit
        for i in np.flatnonzero(ts_flag):
            side = "under" if ts[i] > 0 else "over"
            flags.append(
                ExceptionFlag(
                    int(i),
                    ExceptionRule.TRACKING_SIGNAL,
                    float(ts[i]),
                    c.tracking_signal_limit,
                    f"tracking_signal: {ts[i]:+.2f} outside +/-{c.tracking_signal_limit:g} "
                    f"({side}-forecasting)",
                )
            )
    if c.bias_run is not None and a.shape[1] >= c.bias_run:
        run, last = _persistent_run(a - f)
        bias_flag = run >= c.bias_run
        for i in np.flatnonzero(bias_flag):
            side = "under" if last[i] > 0 else "over"
            flags.append(
                ExceptionFlag(
                    int(i),
                    ExceptionRule.PERSISTENT_BIAS,
                    float(run[i]),
                    float(c.bias_run),
                    f"persistent_bias: {side}-forecast in each of the last {run[i]} periods "
                    f"(limit {c.bias_run})",
                )
            )
    if c.level_shift_window is not None:
        k = c.level_shift_window
        if hist.shape[1] >= 2 * k:
            recent = hist[:, -k:]
            before = hist[:, -2 * k : -k]
            m1, var1 = _mean_and_variance(before)
            m2, var2 = _mean_and_variance(recent)
            with np.errstate(invalid="ignore", divide="ignore"):
                pooled = np.sqrt((var1 + var2) / 2)
                se = pooled * np.sqrt(2.0 / k)
                z = np.abs(m2 - m1) / np.where(se > 0, se, np.nan)
                z = np.where((se == 0) & (m2 != m1), np.inf, z)
                # signed relative change: a fall from 10 to 5 is -50 %
                rel = (m2 - m1) / np.where(m1 > 0, m1, np.nan)
                rel = np.where((m1 == 0) & (m2 > 0), np.inf, rel)
            shift_flag = (np.abs(np.nan_to_num(rel, nan=0.0)) > c.level_shift_relative) & (
                np.nan_to_num(z, nan=0.0) > c.level_shift_z
            )
            for i in np.flatnonzero(shift_flag):
                flags.append(
                    ExceptionFlag(
                        int(i),
                        ExceptionRule.LEVEL_SHIFT,
                        float(m2[i]),
                        float(m1[i]),
                        f"level_shift: mean of the last {k} periods {m2[i]:.4g} vs {m1[i]:.4g} "
                        f"before ({rel[i]:+.0%} change, z = {z[i]:.1f} > {c.level_shift_z:g})",
                    )
                )
    flags.sort(key=lambda x: (x.row, list(ExceptionRule).index(x.rule)))
    inactive = _inactive_rules(c, w, a.shape[1], hist.shape[1])
    return ExceptionReport(
        tuple(flags),
        err_flag,
        ts_flag,
        bias_flag,
        shift_flag,
        inactive_rules=tuple(inactive),
        notes=tuple(inactive.values()),
    )


def _inactive_rules(
    c: ExceptionRules, window: int, periods: int, history: int
) -> dict[ExceptionRule, str]:
    """The switched-on rules that cannot fire with ``window`` monitored periods,
    ``periods`` columns of actuals and ``history`` columns of history, and why."""
    out: dict[ExceptionRule, str] = {}
    if c.tracking_signal_limit is not None and window <= c.tracking_signal_limit:
        # |sum e| <= sum |e| = n MAD: the signal never exceeds the number of periods n
        out[ExceptionRule.TRACKING_SIGNAL] = (
            f"tracking_signal cannot fire: over {window} period(s) the signal is at most "
            f"{window}, within the limit {c.tracking_signal_limit:g}; it needs more than "
            f"{c.tracking_signal_limit:g} monitored periods."
        )
    if c.bias_run is not None and periods < c.bias_run:
        out[ExceptionRule.PERSISTENT_BIAS] = (
            f"persistent_bias cannot fire: it needs bias_run = {c.bias_run} periods, got {periods}."
        )
    if c.level_shift_window is not None and history < 2 * c.level_shift_window:
        out[ExceptionRule.LEVEL_SHIFT] = (
            f"level_shift cannot fire: it needs 2 x level_shift_window = "
            f"{2 * c.level_shift_window} periods of history, got {history}."
        )
    return out
