"""The contract every forecasting kernel honours: a matrix of series in, a typed result out.

A kernel receives ``y``, an (N, T) float64 matrix holding all series. A series that starts
later carries leading NaNs (not launched yet); the first finite value is its first
observation. A NaN *after* the first observation is treated as a missing value: the state
is carried forward without an update and no error is scored there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

import numba
import numpy as np
from numpy.typing import NDArray

from stockpilot.errors import InvalidDataError, parameter_error

P = ParamSpec("P")
R = TypeVar("R")

#: Panels with fewer rows run the compiled kernels on one thread: starting a thread team
#: costs more than it saves on small inputs, and far more on a busy machine.
PARALLEL_MIN_SERIES = 20_000

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


class ForecastModel(StrEnum):
    """Closed vocabulary of the forecasting models stockpilot fits across many series."""

    NAIVE = "naive"
    SEASONAL_NAIVE = "seasonal_naive"
    MOVING_AVERAGE = "moving_average"
    SES = "ses"
    HOLT = "holt"
    DAMPED_HOLT = "damped_holt"
    HOLT_WINTERS_ADDITIVE = "holt_winters_additive"
    HOLT_WINTERS_MULTIPLICATIVE = "holt_winters_multiplicative"
    AUTO_ETS = "auto_ets"
    AUTO_ARIMA = "auto_arima"
    CROSTON = "croston"
    CROSTON_OPTIMIZED = "croston_optimized"
    SBA = "sba"
    TSB = "tsb"
    ADIDA = "adida"
    IMAPA = "imapa"
    COMBINATION = "combination"


@dataclass(frozen=True)
class PanelForecast:
    """Point forecasts and in-sample diagnostics of one model over N series.

    Attributes
    ----------
    model
        The model that produced the result (rows that fell back say so in ``failed``).
    mean
        (N, h) point forecasts per period, :math:`\\hat y_{T+k|T}`, k = 1..h.
    fitted
        (N, T) one-step-ahead in-sample forecasts :math:`\\hat y_{t|t-1}`; NaN where undefined
        (before and at a series' first observation, at missing values, during warm-up).
    residual_sd
        (N,) standard deviation of the one-step in-sample errors ``y - fitted``
        (denominator: number of errors); NaN where fewer than 2 errors exist.
    params
        Per-series fitted parameters, each an (N,) array, e.g. ``{"alpha": ...}``.
        NaN where the parameter does not apply to the row (e.g. a fallback row).
    failed
        (N,) True where the model could not be fitted and a simpler fallback was used.
    """

    model: ForecastModel
    mean: FloatArray
    fitted: FloatArray
    residual_sd: FloatArray
    params: Mapping[str, FloatArray] = field(default_factory=dict)
    failed: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))

    @property
    def n_series(self) -> int:
        """Number of series N."""
        return int(self.mean.shape[0])

    @property
    def horizon(self) -> int:
        """Forecast horizon h."""
        return int(self.mean.shape[1])


def validate_panel(y: object, h: object, season_length: object, *, owner: str) -> FloatArray:
    """Check the shared inputs of every kernel once, at the boundary.

    Returns ``y`` as a C-contiguous float64 (N, T) array. Raises
    :class:`~stockpilot.errors.InvalidParameterError` for a bad ``h``/``season_length`` and
    :class:`~stockpilot.errors.InvalidDataError` for a bad matrix.
    """
    if isinstance(h, bool) or not isinstance(h, int | np.integer) or int(h) < 1:
        raise parameter_error(owner, "h", "a positive integer", h)
    if (
        isinstance(season_length, bool)
        or not isinstance(season_length, int | np.integer)
        or int(season_length) < 1
    ):
        raise parameter_error(owner, "season_length", "a positive integer", season_length)
    arr = np.asarray(y)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InvalidDataError(
            f"The 'y' argument of {owner} must be an (N, T) matrix of series. "
            f"Got an array with shape {arr.shape}."
        )
    if arr.shape[1] < 1:
        raise InvalidDataError(
            f"The 'y' argument of {owner} must hold at least one period. Got shape {arr.shape}."
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise InvalidDataError(
            f"The 'y' argument of {owner} must be numeric. Got dtype {arr.dtype}."
        )
    out = np.ascontiguousarray(arr, dtype=np.float64)
    if not _FINITE_CHECKED.get() and _any_infinite(out):
        rows = np.flatnonzero(np.isinf(out).any(axis=1))
        raise InvalidDataError(
            f"The 'y' argument of {owner} must hold finite values or NaN (not launched). "
            f"Rows {rows[:10].tolist()} hold infinite values."
        )
    return out


_FINITE_CHECKED: ContextVar[bool] = ContextVar("finite_checked", default=False)


@contextmanager
def finite_checked() -> Iterator[None]:
    """Inside the block, :func:`validate_panel` does not scan the panels for infinite
    values: for a caller that checked its whole panel once and passes parts of it to many
    kernels (the automatic selection: a scan per kernel call was 1-2 % of its CPU time)."""
    token = _FINITE_CHECKED.set(True)
    try:
        yield
    finally:
        _FINITE_CHECKED.reset(token)


@numba.njit(cache=True)
def _any_infinite(y: FloatArray) -> bool:
    # one read that stops at the first infinite value, no (N, T) mask: every kernel call
    # validates its panel
    for v in y.ravel():  # noqa: SIM110 (a generator is not compiled as a loop)
        if np.isinf(v):
            return True
    return False


_LARGEST = float(np.finfo(np.float64).max)


def nonnegative(values: FloatArray) -> FloatArray:
    """Forecasts or quantiles as issued: NaN and negative values 0, +inf the largest float
    (what ``clip(nan_to_num(values, nan=0), 0)`` gives, in two passes instead of five).

    >>> nonnegative(np.array([-1.0, np.nan, 2.5])).tolist()
    [0.0, 0.0, 2.5]
    """
    return np.where(values > 0.0, np.minimum(values, _LARGEST), 0.0)


def first_observation(y: FloatArray) -> IntArray:
    """Index of each row's first finite value; T for a row without any observation."""
    return _first_finite(np.ascontiguousarray(y, dtype=np.float64))


@numba.njit(cache=True)
def _first_finite(y: FloatArray) -> IntArray:
    # a scan that stops at each row's first value: every kernel call asks for the starts,
    # and a mask of the whole panel (isfinite, argmax, any) read every period of every row
    n, t_len = y.shape
    start = np.full(n, t_len, dtype=np.int64)
    for i in range(n):
        for t in range(t_len):
            if np.isfinite(y[i, t]):
                start[i] = t
                break
    return start


def observation_count(y: FloatArray) -> IntArray:
    """Number of finite values per row."""
    return np.isfinite(y).sum(axis=1).astype(np.int64)


def residual_sd(y: FloatArray, fitted: FloatArray) -> FloatArray:
    """Standard deviation of one-step errors per row (NaN where fewer than 2 errors).

    Uses the root mean squared error, :math:`\\sqrt{\\sum e_t^2 / n}`, i.e. the errors are
    taken to have mean zero, as in the usual prediction-interval formulas of
    Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., sec. 5.5.
    """
    return _residual_sd(np.ascontiguousarray(y), np.ascontiguousarray(fitted))


@numba.njit(cache=True)
def _residual_sd(y: FloatArray, fitted: FloatArray) -> FloatArray:
    # serial: one cheap pass; waking parallel threads for it costs more than it saves
    n, t_len = y.shape
    out = np.full(n, np.nan)
    for i in range(n):
        sse = 0.0
        cnt = 0
        for t in range(t_len):
            e = y[i, t] - fitted[i, t]
            if np.isfinite(e):
                sse += e * e
                cnt += 1
        if cnt >= 2:
            out[i] = np.sqrt(sse / cnt)
    return out


def weighted_residual_sd(y: FloatArray, fitted: FloatArray, half_life: float) -> FloatArray:
    """As :func:`residual_sd` with the squared errors weighted by recency: weight
    ``0.5 ** ((T - 1 - t) / half_life)`` at period t of the T columns, so an error
    ``half_life`` periods before the last period counts half as much as one in it (NaN
    where fewer than 2 errors). A spread that follows the recent error level, as an
    exponentially weighted variance does (cf. RiskMetrics' EWMA volatility)."""
    if not half_life > 0:
        raise ValueError(f"weighted_residual_sd: half_life must be > 0; got {half_life!r}.")
    return _weighted_residual_sd(
        np.ascontiguousarray(y), np.ascontiguousarray(fitted), float(half_life)
    )


@numba.njit(cache=True)
def _weighted_residual_sd(y: FloatArray, fitted: FloatArray, half_life: float) -> FloatArray:
    n, t_len = y.shape
    out = np.full(n, np.nan)
    decay = 0.5 ** (1.0 / half_life)
    # the weights of the columns once (the same products as a running one per row)
    weight = np.empty(t_len)
    w = 1.0
    for t in range(t_len - 1, -1, -1):
        weight[t] = w
        w *= decay
    for i in range(n):
        sse = 0.0
        wsum = 0.0
        cnt = 0
        for t in range(t_len - 1, -1, -1):
            e = y[i, t] - fitted[i, t]
            if np.isfinite(e):
                sse += weight[t] * e * e
                wsum += weight[t]
                cnt += 1
        if cnt >= 2:
            out[i] = np.sqrt(sse / wsum)
    return out


_DEFER_RESIDUAL_SD: ContextVar[bool] = ContextVar("defer_residual_sd", default=False)


@contextmanager
def deferred_residual_sd() -> Iterator[None]:
    """Inside the block, :func:`make_result` leaves ``residual_sd`` NaN instead of computing
    it: for callers that measure the spread of ``fitted`` themselves (the selection weighs
    the errors by recency and measures them against the history before outlier correction)
    and would otherwise pay a second pass over every panel a kernel returns (1-2 % of the
    selection's CPU time on an M5 store)."""
    token = _DEFER_RESIDUAL_SD.set(True)
    try:
        yield
    finally:
        _DEFER_RESIDUAL_SD.reset(token)


def make_result(
    model: ForecastModel,
    y: FloatArray,
    *,
    mean: FloatArray,
    fitted: FloatArray,
    params: Mapping[str, FloatArray],
    failed: BoolArray,
) -> PanelForecast:
    """Assemble a :class:`PanelForecast`, computing ``residual_sd`` from ``fitted`` (all NaN
    inside :func:`deferred_residual_sd`)."""
    return PanelForecast(
        model=model,
        mean=np.ascontiguousarray(mean, dtype=np.float64),
        fitted=np.ascontiguousarray(fitted, dtype=np.float64),
        residual_sd=(
            np.full(y.shape[0], np.nan) if _DEFER_RESIDUAL_SD.get() else residual_sd(y, fitted)
        ),
        params={k: np.asarray(v, dtype=np.float64) for k, v in params.items()},
        failed=np.asarray(failed, dtype=np.bool_),
    )


def threads_by_size(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` single-threaded when its first argument has < PARALLEL_MIN_SERIES rows.

    Compiled kernels use a parallel loop over series; for small panels the thread start-up
    dominates (measured 1.1 s vs 0.03 s for a 3-series automatic ETS on a loaded 2-core
    machine), so the thread count is lowered for the duration of the call and restored.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        first: Any = args[0] if args else kwargs.get("y")
        rows = int(np.shape(first)[0]) if np.ndim(first) == 2 else 1
        if rows >= PARALLEL_MIN_SERIES:
            return func(*args, **kwargs)
        previous = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            return func(*args, **kwargs)
        finally:
            numba.set_num_threads(previous)

    return wrapper


def mask_rows(out: PanelForecast, bad: NDArray[np.bool_]) -> PanelForecast:
    """``out`` with the ``bad`` rows blanked (NaN) and flagged ``failed``."""
    if not bad.any():
        return out
    return PanelForecast(
        model=out.model,
        mean=np.where(bad[:, None], np.nan, out.mean),
        fitted=np.where(bad[:, None], np.nan, out.fitted),
        residual_sd=np.where(bad, np.nan, out.residual_sd),
        params={k: np.where(bad, np.nan, v) for k, v in out.params.items()},
        failed=out.failed | bad,
    )
