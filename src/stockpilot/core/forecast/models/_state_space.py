"""Exponential smoothing recursions (innovations state space form) for many series at once.

One compiled kernel covers SES, Holt, damped Holt, Holt-Winters and the ETS family:
level :math:`\\ell`, (damped) trend :math:`b`, additive or multiplicative season :math:`s`,
in the error-correction form of Hyndman, Koehler, Ord & Snyder (2008), *Forecasting with
Exponential Smoothing: The State Space Approach*, Springer, Table 2.3. Writing
:math:`\\mu_t` for the one-step forecast and :math:`e_t = y_t - \\mu_t`:

* no season:  :math:`\\mu_t = \\ell_{t-1} + \\phi b_{t-1}`,
  :math:`\\ell_t = \\mu_t + \\alpha e_t`, :math:`b_t = \\phi b_{t-1} + \\beta e_t`;
* additive season: :math:`\\mu_t = \\ell_{t-1} + \\phi b_{t-1} + s_{t-m}`,
  :math:`\\ell_t = \\ell_{t-1} + \\phi b_{t-1} + \\alpha e_t`, :math:`s_t = s_{t-m} + \\gamma e_t`;
* multiplicative season: :math:`\\mu_t = (\\ell_{t-1} + \\phi b_{t-1}) s_{t-m}`,
  :math:`\\ell_t = \\ell_{t-1} + \\phi b_{t-1} + \\alpha e_t / s_{t-m}`,
  :math:`b_t = \\phi b_{t-1} + \\beta e_t / s_{t-m}`,
  :math:`s_t = s_{t-m} + \\gamma e_t / (\\ell_{t-1} + \\phi b_{t-1})`.

Written with the absolute error these recursions are the same for additive and
multiplicative *errors* (Hyndman et al. 2008, sec. 2.5); the error type changes only the
likelihood, hence the parameter estimates and the AICc. Here :math:`\\beta` is the
"error-correction" :math:`\\beta = \\alpha\\beta^*` with :math:`0 < \\beta^* < 1` and
:math:`\\gamma = (1-\\alpha)\\gamma^*`, which keeps the usual constraints
:math:`0 < \\beta < \\alpha`, :math:`0 < \\gamma < 1 - \\alpha` inside a box.

The kernel is compiled with numba (``cache=True``): the recursion runs over time for each
series; the loop over series is compiled too, so no Python code runs per series.
A NaN after a series' first observation is a missing value: states are propagated
(:math:`\\ell_t = \\ell_{t-1} + \\phi b_{t-1}`, :math:`b_t = \\phi b_{t-1}`, season kept).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import IntEnum

import numba
import numpy as np

from stockpilot.core.forecast.base import BoolArray, FloatArray, IntArray
from stockpilot.core.forecast.models._optim import (
    grid_points,
    minimize_box,
    polish_enabled,
    polish_simplex,
)


class Season(IntEnum):
    NONE = 0
    ADDITIVE = 1
    MULTIPLICATIVE = 2


@numba.njit(cache=True, parallel=True)
def _filter_scores(  # noqa: PLR0917 (numba has no keyword-only parameters)
    y: FloatArray,
    t0: IntArray,
    level0: FloatArray,
    trend0: FloatArray,
    season0: FloatArray,
    alpha: FloatArray,
    beta: FloatArray,
    gamma: FloatArray,
    phi: FloatArray,
    season_mode: int,
    relative: bool,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Scores of every (series, candidate): SSE, sum of squared relative errors and
    sum of log|mu|, each (N, G) (the number of scored errors is :func:`_scored_count`).
    ``level0`` is (N, G): the initial level is a candidate parameter too.

    The G candidates of a series are filtered side by side (time outer, candidates inner):
    the recursions of different candidates are independent, so the inner loop vectorizes
    instead of waiting on one long dependency chain.
    """
    n, t_len = y.shape
    g_len = alpha.shape[1]
    m = season0.shape[1]
    sse = np.full((n, g_len), np.inf)
    srel = np.full((n, g_len), np.inf)
    slog = np.full((n, g_len), np.inf)
    n_chunks = min(n, 64)
    for chunk in numba.prange(n_chunks):
        # work buffers once per chunk of rows, not once per row
        lev = np.empty(g_len)
        tr = np.empty(g_len)
        season = np.empty((m, g_len))
        mu = np.empty(g_len)
        s1 = np.empty(g_len)
        s2 = np.empty(g_len)
        s3 = np.empty(g_len)
        ok = np.empty(g_len, dtype=np.bool_)
        for i in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            _score_row(
                y[i], t0[i], level0[i], trend0[i], season0[i], alpha[i], beta[i], gamma[i],
                phi[i], season_mode, relative, lev, tr, season, mu, s1, s2, s3, ok,
            )  # fmt: skip
            for g in range(g_len):
                if t0[i] < t_len:
                    sse[i, g] = s1[g]
                    if relative and ok[g]:
                        srel[i, g] = s2[g]
                        slog[i, g] = s3[g]
    return sse, srel, slog


@numba.njit(cache=True)
def _scored_count(y: FloatArray, t0: IntArray, season_mode: int) -> FloatArray:
    """Errors :func:`_filter_scores` scores per row: observed periods from ``t0`` (from
    ``t0 + 1`` for seasonal specs, whose filter starts one period earlier)."""
    n, t_len = y.shape
    out = np.zeros(n)
    for i in range(n):
        count = 0
        for t in range(t0[i] + (0 if season_mode == 0 else 1), t_len):
            if np.isfinite(y[i, t]):
                count += 1
        out[i] = count
    return out


@numba.njit(cache=True)
def _score_row(  # noqa: PLR0917 (numba has no keyword-only parameters)
    y_row: FloatArray,
    t0: int,
    level0: FloatArray,
    trend0: float,
    season0: FloatArray,
    a: FloatArray,
    bb: FloatArray,
    gg: FloatArray,
    ph: FloatArray,
    season_mode: int,
    relative: bool,
    lev: FloatArray,
    tr: FloatArray,
    season: FloatArray,
    mu: FloatArray,
    s1: FloatArray,
    s2: FloatArray,
    s3: FloatArray,
    ok: BoolArray,
) -> None:
    """Filter one series for all G candidates at once, accumulating into s1, s2, s3, ok."""
    t_len = y_row.shape[0]
    g_len = a.shape[0]
    m = season0.shape[0]
    has_trend = trend0 != 0.0
    for g in range(g_len):
        has_trend = has_trend or bb[g] != 0.0
        lev[g] = level0[g]
        tr[g] = trend0
        s1[g] = 0.0
        s2[g] = 0.0
        s3[g] = 0.0
        ok[g] = True
        for k in range(m):
            season[k, g] = season0[k]
    if t0 >= t_len:
        return
    j = t0 % m - 1  # season slot, advanced without a modulo per step
    for t in range(t0, t_len):
        j += 1
        if j == m:
            j = 0
        v = y_row[t]
        if np.isnan(v):
            for g in range(g_len):
                lev[g] = lev[g] + ph[g] * tr[g]
                tr[g] = ph[g] * tr[g]
            continue
        # Seasonal filters start one period earlier (states from the first seasons);
        # every spec scores the same periods, from the 2nd observation on.
        w = 1.0 if (season_mode == 0 or t > t0) else 0.0
        if season_mode == 0 and not has_trend:  # SES: the shortest dependency chain
            for g in range(g_len):
                e = v - lev[g]
                mu[g] = lev[g]
                s1[g] += w * e * e
                lev[g] += a[g] * e
        elif season_mode == 0:
            for g in range(g_len):
                base = lev[g] + ph[g] * tr[g]
                mu[g] = base
                e = v - base
                s1[g] += w * e * e
                lev[g] = base + a[g] * e
                tr[g] = ph[g] * tr[g] + bb[g] * e
        elif season_mode == 1:
            for g in range(g_len):
                base = lev[g] + ph[g] * tr[g]
                sj = season[j, g]
                mu[g] = base + sj
                e = v - mu[g]
                s1[g] += w * e * e
                lev[g] = base + a[g] * e
                tr[g] = ph[g] * tr[g] + bb[g] * e
                season[j, g] = sj + gg[g] * e
        else:
            for g in range(g_len):
                base = lev[g] + ph[g] * tr[g]
                sj = season[j, g]
                mu[g] = base * sj
                e = v - mu[g]
                s1[g] += w * e * e
                lev[g] = base + a[g] * e / sj
                tr[g] = ph[g] * tr[g] + bb[g] * e / sj
                season[j, g] = sj + gg[g] * e / base
        if relative and w > 0.0:  # only multiplicative-error likelihoods need these
            for g in range(g_len):
                if mu[g] > 0.0:
                    r = (v - mu[g]) / mu[g]
                    s2[g] += r * r
                    s3[g] += np.log(mu[g])
                else:
                    ok[g] = False


@numba.njit(cache=True, parallel=True)
def _row_sd(y: FloatArray) -> FloatArray:
    """Standard deviation of the finite values of each row (1e-8 where it is 0 or undefined)."""
    n, t_len = y.shape
    out = np.full(n, 1e-8)
    for i in numba.prange(n):
        c = 0.0
        s1 = 0.0
        s2 = 0.0
        for t in range(t_len):
            v = y[i, t]
            if not np.isnan(v):
                c += 1.0
                s1 += v
                s2 += v * v
        if c > 1.0:
            var = s2 / c - (s1 / c) ** 2
            if var > 0.0:
                out[i] = np.sqrt(var)
    return out


@numba.njit(cache=True, parallel=True)
def _filter_run(  # noqa: PLR0917 (numba has no keyword-only parameters)
    y: FloatArray,
    t0: IntArray,
    level0: FloatArray,
    trend0: FloatArray,
    season0: FloatArray,
    alpha: FloatArray,
    beta: FloatArray,
    gamma: FloatArray,
    phi: FloatArray,
    season_mode: int,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """One-step fitted values (N, T) and final level (N,), trend (N,), season (N, m)."""
    n, t_len = y.shape
    m = season0.shape[1]
    fitted = np.full((n, t_len), np.nan)
    lev_out = np.full(n, np.nan)
    tr_out = np.full(n, np.nan)
    season_out = season0.copy()
    for i in numba.prange(n):
        if t0[i] >= t_len:
            continue
        a = alpha[i]
        bb = beta[i]
        gg = gamma[i]
        ph = phi[i]
        lev = level0[i]
        tr = trend0[i]
        if season_mode == 0 and bb == 0.0 and tr == 0.0:
            # SES: the trend stays 0, so the level alone (the same operations: adding
            # phi x 0 changes nothing)
            for t in range(t0[i], t_len):
                fitted[i, t] = lev
                v = y[i, t]
                if not np.isnan(v):
                    lev = lev + a * (v - lev)
            lev_out[i] = lev
            tr_out[i] = tr
            continue
        j = t0[i] % m - 1
        for t in range(t0[i], t_len):
            base = lev + ph * tr
            j += 1
            if j == m:
                j = 0
            if season_mode == 1:
                mu = base + season_out[i, j]
            elif season_mode == 2:
                mu = base * season_out[i, j]
            else:
                mu = base
            if season_mode == 0 or t > t0[i]:
                fitted[i, t] = mu
            v = y[i, t]
            if np.isnan(v):
                lev = base
                tr = ph * tr
                continue
            e = v - mu
            if season_mode == 2:
                sj = season_out[i, j]
                lev = base + a * e / sj
                tr = ph * tr + bb * e / sj
                season_out[i, j] = sj + gg * e / base
            else:
                lev = base + a * e
                tr = ph * tr + bb * e
                if season_mode == 1:
                    season_out[i, j] = season_out[i, j] + gg * e
        lev_out[i] = lev
        tr_out[i] = tr
    return fitted, lev_out, tr_out, season_out


@dataclass(frozen=True)
class EtsSpec:
    """One member of the exponential smoothing family (error type only affects estimation)."""

    trend: bool
    damped: bool
    season: Season
    multiplicative_error: bool = False

    @property
    def n_smoothing(self) -> int:
        return 1 + int(self.trend) + int(self.damped) + int(self.season != Season.NONE)

    def label(self) -> str:
        err = "M" if self.multiplicative_error else "A"
        tr = "Ad" if self.damped else ("A" if self.trend else "N")
        se = {Season.NONE: "N", Season.ADDITIVE: "A", Season.MULTIPLICATIVE: "M"}[self.season]
        return f"{err}{tr}{se}"


@dataclass(frozen=True)
class EtsFit:
    """Result of fitting one :class:`EtsSpec` to the rows where it applies.

    ``ok`` marks rows fitted; other rows hold NaN. ``neg2loglik`` is -2 log-likelihood up to
    a constant shared by every spec (Hyndman et al. 2008, eqs. 5.3 and 5.4 concentrated over
    sigma), ``n_obs`` the number of scored errors, ``n_params`` the parameter count used by
    the information criteria (smoothing parameters + initial states + 1 for sigma).
    ``initial_level`` is the level :math:`\\ell_0` the filter started from (estimated or
    heuristic; NaN where not fitted), so :func:`filter_ets` can rerun the same filter.
    """

    spec: EtsSpec
    ok: BoolArray
    alpha: FloatArray
    beta: FloatArray
    gamma: FloatArray
    phi: FloatArray
    fitted: FloatArray
    mean: FloatArray
    neg2loglik: FloatArray
    n_obs: FloatArray
    n_params: int
    initial_level: FloatArray = field(default_factory=lambda: np.zeros(0))

    def aicc(self) -> FloatArray:
        """AICc = -2 log L + 2k + 2k(k+1)/(n-k-1) (Hyndman et al. 2008, eq. 7.2); inf if n <= k+1."""
        k = float(self.n_params)
        n = self.n_obs
        with np.errstate(invalid="ignore", divide="ignore"):
            val = self.neg2loglik + 2.0 * k + 2.0 * k * (k + 1.0) / (n - k - 1.0)
        return np.where(self.ok & (n > k + 1.0) & np.isfinite(val), val, np.inf)


#: Bounds of (alpha, beta*, gamma*, phi); see module docstring for beta*, gamma*.
ALPHA_BOUNDS = (1e-4, 0.9999)
BETA_STAR_BOUNDS = (1e-4, 0.9999)
GAMMA_STAR_BOUNDS = (1e-4, 0.9999)
PHI_BOUNDS = (0.8, 0.98)


def _initial_states(
    y: FloatArray, start: IntArray, spec: EtsSpec, m: int
) -> tuple[BoolArray, IntArray, FloatArray, FloatArray, FloatArray]:
    """Heuristic initial states (Hyndman et al. 2008, sec. 2.6.1, simplified).

    Non-seasonal: :math:`\\ell_0 = y_1`, :math:`b_0 = 0`, filtering from the 2nd observation.
    Seasonal: level = mean of the first season, trend = difference of the first two seasonal
    means / m, season = first-season values minus (or divided by) that mean, normalised;
    filtering starts at the first observation with the level moved back to it.
    Returns (applicable rows, first filtered period, level0, trend0, season0 (N, m)).
    """
    n, t_len = y.shape
    rows = np.arange(n)
    nobs = t_len - start
    mm = m if spec.season != Season.NONE else 1
    season0 = np.zeros((n, mm)) if spec.season != Season.MULTIPLICATIVE else np.ones((n, mm))
    trend0 = np.zeros(n)
    if spec.season == Season.NONE:
        ok = nobs >= (3 if spec.trend else 2)
        safe = np.minimum(start, t_len - 1)
        level0 = y[rows, safe]
        t0 = start + 1
    else:
        ok = nobs >= 2 * m
        idx = np.minimum(start[:, None] + np.arange(2 * m)[None, :], t_len - 1)
        first2 = y[rows[:, None], idx]
        first2 = np.where(np.isfinite(first2), first2, np.nan)
        mean1 = _finite_mean(first2[:, :m])
        mean2 = _finite_mean(first2[:, m:])
        ok &= np.isfinite(mean1) & np.isfinite(mean2)
        if spec.trend:
            trend0 = np.where(ok, (mean2 - mean1) / m, 0.0)
        if spec.season == Season.MULTIPLICATIVE:
            finite_y = np.where(np.isfinite(y), y, 1.0)
            ok &= (finite_y > 0).all(axis=1) & (mean1 > 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                raw = first2[:, :m] / mean1[:, None]
            raw = np.where(np.isfinite(raw), raw, 1.0)
            raw = raw / raw.mean(axis=1, keepdims=True)
        else:
            raw = first2[:, :m] - mean1[:, None]
            raw = np.where(np.isfinite(raw), raw, 0.0)
            raw = raw - raw.mean(axis=1, keepdims=True)
        # raw[:, k] belongs to period start + k, stored at index (start + k) % m.
        pos = (start[:, None] + np.arange(m)[None, :]) % m
        season0 = np.empty((n, m))
        season0[rows[:, None], pos] = raw
        level0 = mean1 - trend0 * (m + 1) / 2.0
        t0 = start.copy()
        ok &= np.isfinite(level0)
    level0 = np.where(ok, level0, 0.0)
    if spec.season == Season.MULTIPLICATIVE:
        season0 = np.where(ok[:, None], season0, 1.0)
    else:
        season0 = np.where(ok[:, None], season0, 0.0)
    t0 = np.where(ok, t0, t_len).astype(np.int64)
    return ok, t0, level0, trend0, np.ascontiguousarray(season0)


def _finite_mean(x: FloatArray) -> FloatArray:
    """Row means over finite values; NaN for a row without any (no warning)."""
    ok = np.isfinite(x)
    cnt = ok.sum(axis=1)
    total = np.where(ok, x, 0.0).sum(axis=1)
    return np.where(cnt > 0, total / np.maximum(cnt, 1), np.nan)


def _expand(spec: EtsSpec, x: FloatArray) -> tuple[FloatArray, ...]:
    """Map box parameters (..., P) to (alpha, beta, gamma, phi) arrays of shape (...)."""
    k = 0
    alpha = x[..., k]
    k += 1
    zero = np.zeros_like(alpha)
    beta = zero
    gamma = zero
    phi = np.ones_like(alpha)
    if spec.trend:
        beta = alpha * x[..., k]
        k += 1
    if spec.season != Season.NONE:
        gamma = (1.0 - alpha) * x[..., k]
        k += 1
    if spec.damped:
        phi = x[..., k]
        k += 1
    return alpha, beta, gamma, phi


@functools.cache
def _box(
    spec: EtsSpec, alpha_bounds: tuple[float, float]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bounds and starting grid of the search box of ``spec`` (read-only, cached)."""
    lo = [alpha_bounds[0]]
    hi = [alpha_bounds[1]]
    axes = [np.linspace(alpha_bounds[0], alpha_bounds[1], 9 if spec.n_smoothing == 1 else 4)]
    if spec.trend:
        lo.append(BETA_STAR_BOUNDS[0])
        hi.append(BETA_STAR_BOUNDS[1])
        axes.append(np.array([0.02, 0.2]))
    if spec.season != Season.NONE:
        lo.append(GAMMA_STAR_BOUNDS[0])
        hi.append(GAMMA_STAR_BOUNDS[1])
        axes.append(np.array([0.05, 0.3]))
    if spec.damped:
        lo.append(PHI_BOUNDS[0])
        hi.append(PHI_BOUNDS[1])
        axes.append(np.array([0.85, 0.95]))
    if spec.n_smoothing == 1:
        # centre first, so a flat objective resolves to the middle of the bounds
        pts = np.linspace(alpha_bounds[0], alpha_bounds[1], 13)
        axes[0] = pts[np.argsort(np.abs(pts - pts.mean()), kind="stable")]
    else:
        axes[0] = (
            np.array([0.1, 0.3, 0.6, 0.9]) * (alpha_bounds[1] - alpha_bounds[0]) + (alpha_bounds[0])
        )
    box = (np.array(lo), np.array(hi), grid_points(axes))
    for part in box:
        part.setflags(write=False)  # cached: shared by every fit of the spec
    return box


def _objective_values(
    spec: EtsSpec, sse: FloatArray, srel: FloatArray, slog: FloatArray, cnt: FloatArray
) -> FloatArray:
    """-2 log L up to a shared constant (sigma concentrated out)."""
    c = cnt[:, None] if sse.ndim == 2 else cnt
    with np.errstate(invalid="ignore", divide="ignore"):
        if spec.multiplicative_error:
            val = c * np.log(srel / c) + 2.0 * slog
        else:
            val = c * np.log(sse / c)
    # A perfect fit gives -inf; keep it comparable but finite.
    return np.where(np.isnan(val), np.inf, np.maximum(val, -1e300))


#: Local search of a warm-started fit (:func:`fit_ets` with ``warm_start``).
WARM_ITERATIONS = 3
WARM_SCALES = 2


@dataclass(frozen=True)
class EtsWarmStart:
    """Starting parameters of every row for :func:`fit_ets` (units of :class:`EtsFit`;
    all finite on the rows fitted)."""

    alpha: FloatArray
    beta: FloatArray
    gamma: FloatArray
    phi: FloatArray
    initial_level: FloatArray

    def box_point(
        self,
        spec: EtsSpec,
        rows: IntArray,
        base_level: FloatArray,
        scale: FloatArray,
        optimize_level: bool,
    ) -> FloatArray:
        """(len(rows), P) point in the search box of ``spec`` (inverse of :func:`_expand`)."""
        a = self.alpha[rows]
        cols = [a]
        with np.errstate(invalid="ignore", divide="ignore"):
            if spec.trend:
                cols.append(self.beta[rows] / a)
            if spec.season != Season.NONE:
                cols.append(self.gamma[rows] / (1.0 - a))
            if spec.damped:
                cols.append(self.phi[rows])
            if optimize_level:
                u = (self.initial_level[rows] - base_level) / scale
                cols.append(np.where(np.isfinite(u), u, 0.0))
        return np.stack(cols, axis=1)


#: Simplex polish after the grid + compass search (:func:`polish_simplex`): at most this
#: many iterations, first simplex steps of this share of each box side.
POLISH_ITERATIONS = 200
POLISH_SIZE = 0.05


def fit_ets(
    y: FloatArray,
    start: IntArray,
    h: int,
    *,
    spec: EtsSpec,
    season_length: int = 1,
    alpha_bounds: tuple[float, float] = ALPHA_BOUNDS,
    iterations: int = 4,
    optimize_level: bool = True,
    warm_start: EtsWarmStart | None = None,
) -> EtsFit:
    """Estimate one exponential smoothing spec for all applicable rows of ``y`` at once.

    Smoothing parameters maximise the likelihood with sigma concentrated out: minimum SSE
    for additive errors, minimum :math:`n\\log\\sum (e_t/\\mu_t)^2 + 2\\sum\\log\\mu_t` for
    multiplicative errors (Hyndman et al. 2008, sec. 5.2). Initial states start from the
    heuristic of :func:`_initial_states`; with ``optimize_level`` the initial level is
    estimated jointly with the smoothing parameters as
    :math:`\\ell_0 = \\ell_0^{heur} + u\\,s_y`, :math:`u \\in [-1, 1]`, :math:`s_y` the
    series' standard deviation (trend and seasonal initial states stay heuristic).
    Search: :func:`minimize_box`; with ``warm_start`` (parameters of every row, e.g.
    estimated on a shorter part of the same series) a short local search from them
    (``WARM_ITERATIONS`` compass iterations at ``WARM_SCALES`` step sizes, no grid). Then,
    unless inside :func:`~stockpilot.core.forecast.models._optim.without_polish` (the
    automatic selection), a simplex polish (:func:`polish_simplex`, at most
    ``POLISH_ITERATIONS``) takes every series to the optimum of its box.
    """
    n, t_len = y.shape
    m = season_length if spec.season != Season.NONE else 1
    ok, t0, level0, trend0, season0 = _initial_states(y, start, spec, m)
    if spec.multiplicative_error:
        finite_y = np.where(np.isfinite(y), y, 1.0)
        ok = ok & (finite_y > 0).all(axis=1)
    alpha = np.full(n, np.nan)
    beta = np.full(n, np.nan)
    gamma = np.full(n, np.nan)
    phi = np.full(n, np.nan)
    fitted = np.full((n, t_len), np.nan) if not ok.all() else np.empty((0, t_len))
    mean = np.full((n, h), np.nan)
    n2ll = np.full(n, np.inf)
    nobs = np.zeros(n)
    init = np.full(n, np.nan)
    n_params = spec.n_smoothing + 1 + int(spec.trend) + (m - 1 if spec.season else 0) + 1
    sel = np.flatnonzero(ok)
    every = sel.size == n  # the usual case: no copy of the panel in or out
    if sel.size:
        ys = y if every else np.ascontiguousarray(y[sel])
        t0s, base_level, trend0s, season0s = t0[sel], level0[sel], trend0[sel], season0[sel]
        lo, hi, grid = _box(spec, alpha_bounds)
        if optimize_level:
            scale = _row_sd(ys)
            # the grid keeps the heuristic level (u = 0); the compass search moves it
            grid = np.concatenate([grid, np.zeros((grid.shape[0], 1))], axis=1)
            lo = np.append(lo, -1.0)
            hi = np.append(hi, 1.0)
        else:
            scale = np.zeros(sel.size)

        def levels(x: FloatArray, r: IntArray | slice = slice(None)) -> FloatArray:
            if not optimize_level:
                return np.ascontiguousarray(np.broadcast_to(base_level[r, None], x.shape[:2]))
            return np.ascontiguousarray(base_level[r, None] + x[..., -1] * scale[r, None])

        cnt = _scored_count(ys, t0s, int(spec.season))

        def objective_rows(x: FloatArray, r: IntArray | slice = slice(None)) -> FloatArray:
            a, b, g, p = _expand(spec, x)
            full = isinstance(r, slice)
            sse, srel, slog = _filter_scores(
                ys if full else np.ascontiguousarray(ys[r]),
                t0s[r],
                levels(x, r),
                trend0s[r],
                season0s if full else np.ascontiguousarray(season0s[r]),
                np.ascontiguousarray(a),
                np.ascontiguousarray(b),
                np.ascontiguousarray(g),
                np.ascontiguousarray(p),
                int(spec.season),
                spec.multiplicative_error,
            )
            return _objective_values(spec, sse, srel, slog, cnt[r])

        def objective(x: FloatArray) -> FloatArray:
            return objective_rows(x)

        if warm_start is None:
            best = minimize_box(
                objective, sel.size, lower=lo, upper=hi, grid=grid, iterations=iterations
            )
        else:
            x0 = warm_start.box_point(spec, sel, base_level, scale, optimize_level)
            best = minimize_box(
                objective,
                sel.size,
                lower=lo,
                upper=hi,
                grid=grid,
                iterations=WARM_ITERATIONS,
                scales=WARM_SCALES,
                initial_step=(hi - lo) / (4.0 * max(grid.shape[0] ** (1.0 / lo.size), 1.0)),
                x0=x0,
            )
        if polish_enabled():
            best = polish_simplex(
                objective_rows,
                best,
                lower=lo,
                upper=hi,
                size=(hi - lo) * POLISH_SIZE,
                iterations=POLISH_ITERATIONS,
            )
        a, b, g, p = (np.ascontiguousarray(v) for v in _expand(spec, best.x))
        lev0 = levels(best.x[:, None, :])
        fit, lev, tr, seas = _filter_run(
            ys, t0s, np.ascontiguousarray(lev0[:, 0]), trend0s, season0s, a, b, g, p,
            int(spec.season),
        )  # fmt: skip
        alpha[sel], beta[sel], gamma[sel], phi[sel] = a, b, g, p
        init[sel] = lev0[:, 0]
        if every:
            fitted = fit
        else:
            fitted[sel] = fit
        # the objective at the optimum (the search keeps it): -2 log L up to a constant
        n2ll[sel] = best.value
        nobs[sel] = cnt
        mean[sel] = project(lev, tr, seas, phi=p, h=h, t_len=t_len, season_mode=spec.season)
    return EtsFit(
        spec=spec,
        ok=ok,
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        phi=phi,
        fitted=fitted,
        mean=mean,
        neg2loglik=n2ll,
        n_obs=nobs,
        n_params=n_params,
        initial_level=init,
    )


def filter_ets(
    y: FloatArray,
    start: IntArray,
    h: int,
    *,
    spec: EtsSpec,
    alpha: FloatArray,
    beta: FloatArray,
    gamma: FloatArray,
    phi: FloatArray,
    initial_level: FloatArray | None = None,
    season_length: int = 1,
) -> EtsFit:
    """Run one spec with given per-row parameters (no estimation): the filter of
    :func:`fit_ets` for parameters chosen elsewhere, e.g. on an earlier part of the series.

    ``alpha``, ``beta``, ``gamma``, ``phi`` are (N,) in the units of :class:`EtsFit`
    (error-correction form); ``initial_level`` (N,) replaces the heuristic
    :math:`\\ell_0` where finite (``None``: heuristic everywhere). Trend and seasonal initial
    states are the heuristic ones of :func:`_initial_states`, as in :func:`fit_ets`, so
    rerunning a fit's parameters on the same rows reproduces its filter. Rows where the
    spec does not apply, or with a non-finite smoothing parameter, are not ``ok``.
    """
    n, t_len = y.shape
    m = season_length if spec.season != Season.NONE else 1
    ok, t0, level0, trend0, season0 = _initial_states(y, start, spec, m)
    par = [
        np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)) for v in (alpha, beta, gamma, phi)
    ]
    for v in par:
        ok = ok & np.isfinite(v)
    if initial_level is not None:
        given = np.broadcast_to(np.asarray(initial_level, dtype=np.float64), (n,))
        level0 = np.where(np.isfinite(given), given, level0)
    ok = ok & np.isfinite(level0)
    t0 = np.where(ok, t0, t_len).astype(np.int64)
    a, b, g = (np.ascontiguousarray(np.where(ok, v, 0.0)) for v in par[:3])
    p = np.ascontiguousarray(np.where(ok, par[3], 1.0))
    level0 = np.ascontiguousarray(np.where(ok, level0, 0.0))
    fitted, lev, tr, seas = _filter_run(
        y, t0, level0, trend0, season0, a, b, g, p, int(spec.season)
    )
    mean = project(lev, tr, seas, phi=p, h=h, t_len=t_len, season_mode=spec.season)
    nan = np.full(n, np.nan)
    return EtsFit(
        spec=spec,
        ok=ok,
        alpha=np.where(ok, a, nan),
        beta=np.where(ok, b, nan),
        gamma=np.where(ok, g, nan),
        phi=np.where(ok, p, nan),
        fitted=fitted,  # NaN where not ok: the filter skips those rows (t0 = T)
        mean=mean,
        neg2loglik=np.full(n, np.nan),
        n_obs=np.zeros(n),
        n_params=0,
        initial_level=np.where(ok, level0, nan),
    )


def project(
    level: FloatArray,
    trend: FloatArray,
    season: FloatArray,
    *,
    phi: FloatArray,
    h: int,
    t_len: int,
    season_mode: Season,
) -> FloatArray:
    """h-step point forecasts :math:`\\ell_T + \\phi_h b_T (+/\\times) s_{T+h-m(k+1)}`,
    :math:`\\phi_h = \\phi + \\dots + \\phi^h` (Hyndman et al. 2008, Table 2.1)."""
    k = np.arange(1, h + 1)
    if season_mode == Season.NONE and not trend.any():
        # no trend (SES; NaN counts as one): the level, without h powers of phi per row
        return np.repeat(level[:, None] + 0.0, h, axis=1)
    powers = phi[:, None] ** k[None, :]
    phi_h = np.cumsum(powers, axis=1)
    base = level[:, None] + phi_h * trend[:, None]
    if season_mode == Season.NONE:
        return base
    m = season.shape[1]
    cols = (t_len - 1 + k) % m
    s = season[:, cols]
    return base + s if season_mode == Season.ADDITIVE else base * s
