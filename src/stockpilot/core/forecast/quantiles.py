"""Probabilistic forecasts: per-period and lead-time-demand quantiles, and their calibration.

A point forecast (mean) and a spread (standard deviation of the forecast error) per series
become quantiles through a distribution chosen per series:

========================  ==================================================================
pattern (Syntetos-Boylan)  distribution
========================  ==================================================================
smooth                    normal, truncated at 0 (``max(0, mu + z sigma)``)
erratic                   gamma (method of moments; shape at least
                          :data:`GAMMA_MIN_SHAPE`)
intermittent              Poisson when the variance is at most 1.1 times the mean, else
                          negative binomial (method of moments)
lumpy                     negative binomial (or ``empirical`` bootstrap when asked)
no demand                 Poisson with its (zero) mean: every quantile 0
========================  ==================================================================

Lead-time demand is demand over L + R periods (lead time plus review period). With a
random lead time of mean E[L] and variance Var(L), the moments are (Silver, Pyke and
Thomas 2017, section 6.10, eq. 6.36-6.37)

.. math:: E[X] = \\mu (E[L] + R), \\quad Var[X] = (E[L] + R)\\sigma^2 + \\mu^2 Var(L)

and the family above is fitted to them. With an empirical lead-time distribution (a pmf
over whole periods) the lead-time demand is the exact mixture
:math:`F(x) = \\sum_l p_l F_{l+R}(x)`, inverted by bisection for all series at once. The
``empirical`` family bootstraps sums of L + R past demands instead (Willemain, Smart and
Schwarz 2004 without the Markov step), rescaled to the forecast mean.

Quantiles are non-negative and non-decreasing in the level by construction (each is the
inverse of one CDF).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from stockpilot.core.forecast.base import nonnegative
from stockpilot.errors import InvalidDataError, choice_error, parameter_error
from stockpilot.vocab import DemandPattern

FloatArray = NDArray[np.float64]

__all__ = [
    "DEFAULT_LEVELS",
    "GAMMA_MIN_SHAPE",
    "CalibrationReport",
    "Distribution",
    "DistributionChoice",
    "LeadTimeQuantiles",
    "QuantileForecast",
    "calibrated_levels",
    "calibration_report",
    "choose_distribution",
    "distribution_for_pattern",
    "in_whole_units",
    "lead_time_quantiles",
    "period_quantiles",
    "quantile_column",
    "whole_unit_series",
]

DEFAULT_LEVELS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95, 0.99)
#: A quantile within this of a whole number is that number (floating-point noise of
#: mean + z * sd must not round 3.0000000001 up to 4).
WHOLE_UNIT_TOLERANCE = 1e-9
_POISSON_DISPERSION = 1.1


class Distribution(StrEnum):
    NORMAL = "normal"
    GAMMA = "gamma"
    POISSON = "poisson"
    NEGATIVE_BINOMIAL = "negative_binomial"
    EMPIRICAL = "empirical"


def quantile_column(level: float) -> str:
    """Exchange-format column name of a level: 0.9 -> ``q90``, 0.95 -> ``q95``, 0.999 -> ``q99.9``.

    >>> [quantile_column(x) for x in (0.5, 0.9, 0.95, 0.975, 0.999)]
    ['q50', 'q90', 'q95', 'q97.5', 'q99.9']
    """
    pct = round(float(level) * 100, 6)
    text = f"{pct:.6f}".rstrip("0").rstrip(".")
    return f"q{text}"


def _levels(levels: ArrayLike, owner: str) -> FloatArray:
    lv = np.asarray(levels, dtype=np.float64).reshape(-1)
    if lv.size == 0 or np.any(~(lv >= 0.5)) or np.any(~(lv < 1.0)):
        raise parameter_error(
            owner,
            "levels",
            "one or more floats in [0.5, 1)",
            lv.tolist(),
            hint="Use levels such as 0.5, 0.9, 0.95, 0.99, 0.999.",
        )
    return lv


def _distribution_array(
    distribution: ArrayLike | str, n: int, owner: str, levels: int | None = None
) -> NDArray[np.str_]:
    """(N,) family per series, or (N, K) per series and level where ``levels`` = K is
    given and the input is two-dimensional."""
    raw = np.asarray(distribution).astype(str)
    per_level = levels is not None and raw.ndim == 2
    d = raw if per_level else raw.reshape(-1)
    shape: tuple[int, ...] = (n, int(levels)) if per_level and levels is not None else (n,)
    if d.size == 1 and d.shape != shape:  # one family for every series (and level)
        d = np.full(shape, d.reshape(-1)[0])
    valid = [x.value for x in Distribution]
    bad = sorted(set(d.reshape(-1).tolist()) - set(valid))
    if bad:
        raise choice_error(owner, "distribution", bad[0], valid)
    if d.shape != shape:
        raise InvalidDataError(f"{owner}: distributions of shape {d.shape} for {n} series.")
    return d


def distribution_for_pattern(
    patterns: ArrayLike, mean: ArrayLike, variance: ArrayLike, *, lumpy_empirical: bool = False
) -> NDArray[np.str_]:
    """Choose the distribution family of each series from its demand pattern (table above).

    >>> distribution_for_pattern(["smooth", "intermittent", "intermittent", "lumpy"],
    ...                          [5, 1, 1, 1], [4, 1, 3, 9]).tolist()
    ['normal', 'poisson', 'negative_binomial', 'negative_binomial']
    """
    p = np.asarray(patterns).astype(str).reshape(-1)
    mu = np.asarray(mean, dtype=np.float64).reshape(-1)
    var = np.asarray(variance, dtype=np.float64).reshape(-1)
    over = var > _POISSON_DISPERSION * mu
    out = np.full(p.size, Distribution.NORMAL.value, dtype="<U20")
    out[p == DemandPattern.ERRATIC.value] = Distribution.GAMMA.value
    inter = p == DemandPattern.INTERMITTENT.value
    out[inter] = np.where(
        over[inter], Distribution.NEGATIVE_BINOMIAL.value, Distribution.POISSON.value
    )
    lumpy = p == DemandPattern.LUMPY.value
    out[lumpy] = (
        Distribution.EMPIRICAL.value if lumpy_empirical else Distribution.NEGATIVE_BINOMIAL.value
    )
    out[p == DemandPattern.NO_DEMAND.value] = Distribution.POISSON.value
    return out


# --------------------------------------------------------------------------- kernels


_MAX_STEPS = 60  # doubling steps of the bracket (2**60) and half as many bisections
_EXACT_INTEGERS = 2.0**53


#: Longest walk of the compiled pmf recursion; larger quantiles go to the bisection.
_WALK_MAX = 4096
#: A walked CDF this far from the level decides the quantile for certain: the running sum
#: of at most ``_WALK_MAX`` recursion terms carries a relative error below 1e-11.
_WALK_MARGIN = 1e-9


@numba.njit(cache=True)
def _pmf_walk(
    lv: FloatArray, log_f0: FloatArray, c0: FloatArray, c1: FloatArray, todo: NDArray[np.bool_]
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Candidate quantile per element of a count law whose pmf follows
    ``f(k + 1) = f(k) (c0 + c1 k) / (k + 1)`` from ``f(0) = exp(log_f0)`` (negative binomial:
    ``c0 = n (1 - p)``, ``c1 = 1 - p``, ``log_f0 = n log p``; Poisson: ``c0 = mu``, ``c1 = 0``,
    ``log_f0 = -mu``), by summing the pmf until the sum reaches the level; -1 where the walk
    cannot decide (``f(0)`` below the float range, or more than ``_WALK_MAX`` steps). The
    flag marks candidates whose running CDF at k or k - 1 lies within ``_WALK_MARGIN`` of the
    level, to be checked on the closed form."""
    out = np.full(lv.size, -1.0)
    close = np.zeros(lv.size, dtype=np.bool_)
    for i in range(lv.size):
        if not todo[i] or not log_f0[i] >= -700.0:
            continue
        f = np.exp(log_f0[i])
        cdf = f
        before = -1.0
        k = 0
        while cdf < lv[i] and k < _WALK_MAX:
            f *= (c0[i] + c1[i] * k) / (k + 1.0)
            k += 1
            before = cdf
            cdf += f
        if cdf >= lv[i]:
            out[i] = k
            close[i] = cdf - lv[i] <= _WALK_MARGIN or (k > 0 and lv[i] - before <= _WALK_MARGIN)
    return out, close


def poisson_ppf(level: ArrayLike, mu: ArrayLike) -> FloatArray:
    """Quantile of the Poisson law: the smallest integer k with ``P(D <= k) = pdtr(k, mu)
    >= level`` (scipy's ``poisson.cdf``; scipy's own ``poisson.ppf`` agrees with it except
    on some levels lying exactly on a CDF step). A compiled walk over the pmf recursion
    gives k; where its running CDF comes within ``_WALK_MARGIN`` of the level, and where
    the walk cannot decide (scipy's ``ppf`` then gives the start), k is moved one step at
    a time until the closed form meets the level at k and not at k - 1."""
    lv, m = (
        a.astype(np.float64).ravel() for a in np.broadcast_arrays(np.asarray(level), np.asarray(mu))
    )
    shape = np.broadcast_shapes(np.shape(level), np.shape(mu))
    valid = np.isfinite(lv) & (lv > 0) & (lv < 1) & np.isfinite(m) & (m >= 0)
    walked, close = _pmf_walk(lv, -m, m, np.zeros_like(m), valid)
    out = walked
    undecided = valid & (walked < 0)
    out[~valid] = stats.poisson.ppf(lv[~valid], m[~valid])  # edges and NaN as scipy
    out[undecided] = stats.poisson.ppf(lv[undecided], m[undecided])
    todo = np.flatnonzero(close | undecided)
    for _ in range(_MAX_STEPS):
        if todo.size == 0:
            break
        k = out[todo]
        low = special.pdtr(k, m[todo]) < lv[todo]
        high = ~low & (k > 0) & (special.pdtr(np.maximum(k - 1.0, 0.0), m[todo]) >= lv[todo])
        out[todo[low]] += 1.0
        out[todo[high]] -= 1.0
        todo = todo[low | high]
    return out.reshape(shape)


def nbinom_ppf(level: ArrayLike, size: ArrayLike, prob: ArrayLike) -> FloatArray:
    """Quantile of the negative binomial law ``scipy.stats.nbinom(size, prob)``: the
    smallest integer k with ``P(D <= k) = I_prob(size, k + 1) >= level``.

    The same definition as ``nbinom.ppf``. A compiled walk over the pmf recursion finds k
    per element; where its running CDF at k or k - 1 comes within ``_WALK_MARGIN`` of the
    level (rounding could then matter), k is accepted only if the closed-form CDF
    (``special.betainc``) meets the level at k and not at k - 1. Elements the walk cannot
    settle go to a normal-approximation guess, a doubling bracket and bisection on the
    closed-form CDF: a few vectorized passes over the elements still open instead of
    scipy's per-element inversion (``nbdtrik``), which dominated the quantile cost of
    count series.
    """
    lv, n, p = (
        a.astype(np.float64).ravel()
        for a in np.broadcast_arrays(np.asarray(level), np.asarray(size), np.asarray(prob))
    )
    shape = np.broadcast_shapes(np.shape(level), np.shape(size), np.shape(prob))
    valid = np.isfinite(lv) & (lv > 0) & (lv < 1) & (n > 0) & (p > 0) & (p <= 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_f0 = n * np.log(p)
    walked, close = _pmf_walk(lv, log_f0, n * (1.0 - p), 1.0 - p, valid)
    rows = np.flatnonzero(close)
    k = walked[rows]
    wrong = rows[
        (special.betainc(n[rows], k + 1.0, p[rows]) < lv[rows])
        | ((k > 0) & (special.betainc(n[rows], np.maximum(k, 1.0), p[rows]) >= lv[rows]))
    ]
    walked[wrong] = -1.0
    out = _nbinom_ppf_search(lv, n, p, valid & (walked < -0.5))
    done = walked >= 0
    out[done] = walked[done]
    out = np.where(valid, out, np.nan)
    out = np.where((lv == 0) & (n > 0), 0.0, out)
    out = np.where((lv == 1) & (n > 0) & (p < 1), np.inf, out)
    out = np.where((p == 1) & np.isfinite(lv) & (lv >= 0) & (lv <= 1), 0.0, out)
    return out.reshape(shape)


def _nbinom_ppf_search(
    lv: FloatArray, n: FloatArray, p: FloatArray, valid: NDArray[np.bool_]
) -> FloatArray:
    """:func:`nbinom_ppf` of the ``valid`` elements (flat arrays) by guess, doubling
    bracket and bisection on the closed-form CDF; NaN elsewhere."""

    def meets(k: FloatArray, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
        return np.asarray(
            (k >= 0) & (special.betainc(n[rows], np.maximum(k, 0) + 1.0, p[rows]) >= lv[rows])
        )

    with np.errstate(over="ignore", invalid="ignore"):
        mean = n * (1.0 - p) / np.where(p > 0, p, 1.0)
        sd = np.sqrt(mean / np.where(p > 0, p, 1.0))
        guess = np.floor(mean + special.ndtri(np.clip(lv, 1e-12, 1 - 1e-12)) * sd)
    guess = np.where(valid, np.maximum(guess, 0.0), 0.0)
    rows = np.flatnonzero(valid)
    ok = np.zeros(lv.shape, dtype=bool)
    ok[rows] = meets(guess[rows], rows)
    lo = np.where(ok, guess - 1.0, guess)  # invariant: lo fails (or is -1), hi meets
    hi = np.where(ok, guess, guess + 1.0)
    # Every loop is capped; what is still open after the cap (levels the closed-form CDF
    # cannot reach in floating point, or quantiles beyond 2**53 where integers are not
    # exact) keeps the normal-approximation guess.
    slow = valid & ~(guess <= _EXACT_INTEGERS)  # NaN and inf guesses included
    step = np.ones(lv.shape)
    todo = np.flatnonzero(valid & ok & ~slow)
    for _ in range(_MAX_STEPS):
        if todo.size == 0:
            break
        todo = todo[(lo[todo] >= 0) & meets(lo[todo], todo)]
        hi[todo] = lo[todo]
        step[todo] *= 2.0
        lo[todo] = np.maximum(lo[todo] - step[todo], -1.0)
    slow[todo] = True
    step[:] = 1.0
    todo = np.flatnonzero(valid & ~ok & ~slow)
    for _ in range(_MAX_STEPS):
        if todo.size == 0:
            break
        todo = todo[~meets(hi[todo], todo)]
        lo[todo] = hi[todo]
        step[todo] *= 2.0
        hi[todo] += step[todo]
    slow[todo] = True
    todo = np.flatnonzero(valid & ~slow & (hi - lo > 1.0))
    for _ in range(2 * _MAX_STEPS):
        if todo.size == 0:
            break
        mid = np.floor(0.5 * (lo[todo] + hi[todo]))
        yes = meets(mid, todo)
        hi[todo] = np.where(yes, mid, hi[todo])
        lo[todo] = np.where(yes, lo[todo], mid)
        todo = todo[hi[todo] - lo[todo] > 1.0]
    slow[todo] = True
    out = np.where(valid, hi, np.nan)
    if slow.any():
        # beyond exact float integers or where the CDF cannot reach the level in floating
        # point (scipy's own inversion does not return there): the normal approximation
        out[slow] = np.where(np.isnan(guess[slow]), np.inf, guess[slow])
    return out


#: Smallest shape of the gamma law (coefficient of variation at most sqrt(2)). A moment-
#: matched gamma with a larger CV puts most of its mass near 0 (shape 0.1: the median is
#: 0.6 % of the mean): one spike in a series that sells every week (mean 5, sd 691 from the
#: spike's residual) made every quantile up to 0.99 zero. An erratic series sells in most
#: periods (ADI < 1.32), so its law keeps the mean and takes at most this spread.
GAMMA_MIN_SHAPE = 0.5


def _gamma_parameters(
    mu: FloatArray, v: FloatArray, ok: NDArray[np.bool_]
) -> tuple[FloatArray, FloatArray]:
    """Shape and scale of the gamma law with mean ``mu`` and variance ``v`` where ``ok``
    (shape at least :data:`GAMMA_MIN_SHAPE`, the mean kept); 1 elsewhere."""
    shape = np.where(ok, np.maximum(mu * mu / np.where(ok, v, 1.0), GAMMA_MIN_SHAPE), 1.0)
    return shape, np.where(ok, mu / shape, 1.0)


def _ppf(family: str, level: FloatArray, mean: FloatArray, var: FloatArray) -> FloatArray:
    """Quantile of one family for broadcast arrays of level, mean and variance."""
    mu = np.clip(mean, 0.0, None)
    v = np.clip(var, 0.0, None)
    sd = np.sqrt(v)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if family == Distribution.NORMAL:
            q = mu + stats.norm.ppf(level) * sd
        elif family == Distribution.GAMMA:
            ok = (v > 0) & (mu > 0)
            shape, scale = _gamma_parameters(mu, v, ok)
            q = np.where(ok, stats.gamma.ppf(level, shape, scale=scale), mu)
        elif family == Distribution.POISSON:
            q = poisson_ppf(level, mu)
        else:  # negative binomial, Poisson when not over-dispersed
            lv, mu_b, v_b = np.broadcast_arrays(level, mu, v)
            over = (v_b > mu_b * (1.0 + 1e-9)) & (mu_b > 0)
            q = np.zeros(lv.shape)
            # each law only where it applies (scipy's ppf is a per-element root search)
            n = mu_b[over] ** 2 / (v_b[over] - mu_b[over])
            q[over] = nbinom_ppf(lv[over], np.maximum(n, 1e-12), mu_b[over] / v_b[over])
            q[~over] = poisson_ppf(lv[~over], mu_b[~over])
    if family != Distribution.NORMAL:
        # A count or gamma law with mean 0 is the point mass at 0. The normal one keeps its
        # spread: a learned sd around a zero forecast (a run of zeros that may end, e.g. a
        # stock-out) is the censored normal max(N(0, sd^2), 0).
        q = np.where(mu <= 0, 0.0, q)
    return nonnegative(q)


def _cdf(family: str, x: FloatArray, mean: FloatArray, var: FloatArray) -> FloatArray:
    mu = np.clip(mean, 0.0, None)
    v = np.clip(var, 0.0, None)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if family == Distribution.NORMAL:
            sd = np.sqrt(v)
            c = np.where(sd > 0, stats.norm.cdf((x - mu) / np.where(sd > 0, sd, 1.0)), x >= mu)
        elif family == Distribution.GAMMA:
            ok = (v > 0) & (mu > 0)
            shape, scale = _gamma_parameters(mu, v, ok)
            c = np.where(ok, stats.gamma.cdf(x, shape, scale=scale), x >= mu)
        elif family == Distribution.POISSON:
            c = stats.poisson.cdf(x, mu)
        else:
            over = v > mu * (1.0 + 1e-9)
            n = np.where(over, mu * mu / np.where(over, v - mu, 1.0), 1.0)
            p = np.where(over, mu / np.where(over, v, 1.0), 0.5)
            c = np.where(
                over & (mu > 0),
                stats.nbinom.cdf(x, np.maximum(n, 1e-12), p),
                stats.poisson.cdf(x, mu),
            )
    if family == Distribution.NORMAL:
        return np.where(x >= 0, c, 0.0)  # the censored normal, as in _ppf
    return np.where(mu <= 0, (x >= 0).astype(np.float64), c)


def _family_quantiles(
    dist: NDArray[np.str_], levels: FloatArray, mean: FloatArray, var: FloatArray
) -> FloatArray:
    """(N, ..., K) quantiles for (N, ...) mean and (N, ...) or (N, ..., K) variance (one per
    level) with a family per series, (N,), or per series and level, (N, K)."""
    out = np.zeros((*mean.shape, levels.size))
    per_level = var.ndim == mean.ndim + 1
    for fam in np.unique(dist):
        chosen = dist == fam
        rows = chosen.any(axis=1) if chosen.ndim == 2 else chosen
        m = mean[rows][..., None]
        v = var[rows] if per_level else var[rows][..., None]
        if chosen.ndim == 2:  # only the levels where the series takes this family
            keep = chosen[rows].reshape(-1, *([1] * (mean.ndim - 1)), levels.size)
            out[rows] = np.where(keep, _ppf(str(fam), levels, m, v), out[rows])
            continue
        out[rows] = _ppf(str(fam), levels, m, v)
    return np.maximum.accumulate(out, axis=-1)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class QuantileForecast:
    """Per-period quantiles of N series: ``values[i, k, j]`` is level ``levels[j]`` of series
    i in period k of the horizon."""

    levels: FloatArray
    values: FloatArray
    distribution: NDArray[np.str_]  # (N,), or (N, K) where it was given per level


@dataclass(frozen=True)
class LeadTimeQuantiles:
    """Quantiles of demand over lead time plus review period, one row per series.

    ``mean`` and ``sd`` are the moments of lead-time demand; ``values[i, j]`` the quantile
    at ``levels[j]``; ``periods`` the expected number of periods covered, E[L] + R.
    """

    levels: FloatArray
    values: FloatArray
    mean: FloatArray
    sd: FloatArray
    periods: FloatArray
    distribution: NDArray[np.str_]


def period_quantiles(
    mean: ArrayLike,
    sd: ArrayLike,
    levels: ArrayLike = DEFAULT_LEVELS,
    *,
    distribution: ArrayLike | str = Distribution.NORMAL,
    history: ArrayLike | None = None,
    n_samples: int = 1000,
    seed: int | np.random.Generator | None = 0,
    whole_units: ArrayLike | bool | None = None,
) -> QuantileForecast:
    """Quantiles of each period's demand.

    Demand counted in whole units (every observed value of the history a whole number:
    pieces, cases, orders) has whole-number quantiles: the quantile at level p is the
    smallest whole number at or above the family's quantile (the count families give
    whole numbers already; the normal, gamma and empirical ones are rounded up). A
    planner cannot stock 1.3 units, and the pinball loss of a demand that takes whole
    values is lowest at a whole number. The selection learns its spread on the rounded
    quantiles (:func:`~stockpilot.core.forecast.spread.learn_spread`).

    Parameters
    ----------
    mean
        (N, h) point forecasts (the distribution mean), clipped at 0.
    sd
        (N,) or (N, h) standard deviation of the forecast error (NaN counts as 0), or
        (N, h, K) one per level (:meth:`~stockpilot.core.forecast.selection.SelectionResult.sd_paths`).
    levels
        Levels in [0.5, 1).
    distribution
        One :class:`Distribution` for all series, one per series (see
        :func:`distribution_for_pattern`), or (N, K) one per series and level
        (:meth:`~stockpilot.core.forecast.selection.SelectionResult.level_distributions`).
    history
        (N, T) past demand, needed by ``empirical`` series (bootstrapped one period at a
        time and rescaled to the forecast mean); also tells which series are counted in
        whole units (:func:`whole_unit_series`) when ``whole_units`` is ``None``.
    whole_units
        ``True`` / ``False`` for all series, or (N,) per series: round the quantiles up to
        whole units. ``None`` (default): the series whose ``history`` holds whole numbers
        only; none without a history.

    Examples
    --------
    >>> q = period_quantiles([[10.0]], [2.0], [0.5, 0.95])
    >>> np.round(q.values[0, 0], 3).tolist()
    [10.0, 13.29]
    >>> period_quantiles([[10.0]], [2.0], [0.5, 0.95], history=[[9.0, 11.0]]).values.tolist()
    [[[10.0, 14.0]]]
    """
    mu = np.clip(np.atleast_2d(np.asarray(mean, dtype=np.float64)), 0.0, None)
    n, h = mu.shape
    s = np.nan_to_num(np.asarray(sd, dtype=np.float64), nan=0.0)
    lv = _levels(levels, "period_quantiles")
    if s.ndim == 3:
        if s.shape != (n, h, lv.size):
            raise InvalidDataError(
                f"period_quantiles: sd of shape {s.shape} for {n} series, {h} periods and "
                f"{lv.size} levels."
            )
    else:
        s = np.broadcast_to(s[:, None] if s.ndim == 1 else s, (n, h))
    dist = _distribution_array(distribution, n, "period_quantiles", levels=lv.size)
    values = _family_quantiles(dist, lv, mu, s * s)
    emp_at = dist == Distribution.EMPIRICAL  # (N,) or (N, K)
    emp = emp_at.any(axis=1) if emp_at.ndim == 2 else emp_at
    if emp.any():
        if history is None:
            raise parameter_error(
                "period_quantiles", "history", "an (N, T) matrix for empirical series", None
            )
        hist = np.atleast_2d(np.asarray(history, dtype=np.float64))[emp]
        samples = _bootstrap_sums(hist, np.ones(hist.shape[0]), n_samples, _rng(seed))
        base = _rescaled_quantiles(samples, hist, lv)  # (n_emp, K) per unit mean
        boot = mu[emp][..., None] * base[:, None, :]
        if emp_at.ndim == 2:  # only the levels where the series takes the bootstrap
            boot = np.where(emp_at[emp][:, None, :], boot, values[emp])
        values[emp] = np.maximum.accumulate(boot, axis=-1)
    return QuantileForecast(lv, in_whole_units(values, whole_units, history), dist)


def in_whole_units(
    values: FloatArray, whole_units: ArrayLike | bool | None, history: ArrayLike | None
) -> FloatArray:
    """``values`` (N, ...) with the rows of series counted in whole units rounded up to the
    next whole unit, in place (``whole_units`` and ``history`` as in
    :func:`period_quantiles`).

    >>> in_whole_units(np.array([[1.2, 2.0], [1.2, 2.0]]), None, [[1.0, 3.0], [1.5, 2.0]]).tolist()
    [[2.0, 2.0], [1.2, 2.0]]
    """
    n = values.shape[0]
    if whole_units is None:
        whole = whole_unit_series(history) if history is not None else np.zeros(n, dtype=np.bool_)
    else:
        whole = np.broadcast_to(np.asarray(whole_units, dtype=np.bool_), (n,))
    if whole.any():
        values[whole] = np.maximum(np.ceil(values[whole] - WHOLE_UNIT_TOLERANCE), 0.0)
    return values


def whole_unit_series(history: ArrayLike) -> NDArray[np.bool_]:
    """(N,) True where every observed value of a series' history is a whole number (and at
    least one is observed): demand counted in whole units.

    >>> whole_unit_series([[0.0, 2.0, np.nan], [1.5, 2.0, 3.0], [np.nan, np.nan, np.nan]])
    array([ True, False, False])
    """
    y = np.atleast_2d(np.asarray(history, dtype=np.float64))
    return _whole_rows(np.ascontiguousarray(y))


@numba.njit(cache=True)
def _whole_rows(y: FloatArray) -> NDArray[np.bool_]:
    # a read of each row that stops at its first fractional value, no (N, T) masks
    n, t_len = y.shape
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        seen = False
        whole = True
        for t in range(t_len):
            v = y[i, t]
            if np.isnan(v):
                continue
            seen = True
            if v != np.floor(v):  # inf is whole here, as with numpy's round
                whole = False
                break
        out[i] = seen and whole
    return out


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _bootstrap_sums(
    history: FloatArray, periods: FloatArray, n_samples: int, rng: np.random.Generator
) -> FloatArray:
    """(N, S) sums of ``periods[i]`` demands drawn with replacement from each history."""
    n, t = history.shape
    obs = ~np.isnan(history)
    n_obs = obs.sum(axis=1)
    first = np.where(obs.any(axis=1), obs.argmax(axis=1), t)
    k_max = int(np.ceil(periods.max())) if n else 0
    out = np.zeros((n, n_samples))
    if k_max == 0:
        return out
    filled = np.nan_to_num(history, nan=0.0)
    for k in range(k_max):  # loop over periods of the lead time, vectorized over series
        u = rng.random((n, n_samples))
        idx = np.minimum(
            first[:, None] + (u * np.maximum(n_obs, 1)[:, None]).astype(np.int64), t - 1
        )
        draw = np.take_along_axis(filled, idx, axis=1)
        weight = np.clip(periods - k, 0.0, 1.0)[:, None]  # fractional last period
        out += weight * draw
    return out


def _rescaled_quantiles(samples: FloatArray, history: FloatArray, levels: FloatArray) -> FloatArray:
    """Quantiles of bootstrap samples divided by the history mean (unit-mean shape)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        hist_mean = np.nanmean(history, axis=1)
        unit = samples / np.where(hist_mean > 0, hist_mean, 1.0)[:, None]
    q = np.quantile(unit, levels, axis=1, method="inverted_cdf").T
    q = np.where(hist_mean[:, None] > 0, q, 0.0)
    return np.maximum.accumulate(np.clip(q, 0.0, None), axis=1)


def _per_series(value: ArrayLike, n: int, owner: str, name: str) -> FloatArray:
    """(n,) finite periods >= 0 from a scalar or one value per series."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size not in (1, n)):
        raise InvalidDataError(
            f"{owner}: {name} must be one number or one per series ({n}); got shape {arr.shape}."
        )
    out = np.broadcast_to(arr.reshape(-1) if arr.ndim else arr, (n,))
    if np.any(~np.isfinite(out)) or np.any(out < 0):
        raise parameter_error(owner, name, "finite numbers of periods >= 0", out.tolist()[:5])
    return out


def lead_time_quantiles(
    mean: ArrayLike,
    sd: ArrayLike,
    levels: ArrayLike = DEFAULT_LEVELS,
    *,
    lead_time: ArrayLike,
    review_period: ArrayLike = 0.0,
    lead_time_sd: ArrayLike = 0.0,
    lead_time_pmf: ArrayLike | None = None,
    distribution: ArrayLike | str = Distribution.NORMAL,
    history: ArrayLike | None = None,
    n_samples: int = 2000,
    seed: int | np.random.Generator | None = 0,
    whole_units: ArrayLike | bool | None = None,
) -> LeadTimeQuantiles:
    """Quantiles of demand over lead time L plus review period R.

    Parameters
    ----------
    mean
        (N,) mean demand per period, or an (N, h) forecast path: its average over the
        first ceil(E[L] + R) periods is used as the per-period mean mu.
    sd
        (N,) standard deviation sigma of one period's forecast error, or (N, K) one per
        level (the first step of
        :meth:`~stockpilot.core.forecast.selection.SelectionResult.sd_paths`).
    lead_time
        (N,) or scalar expected lead time E[L] in periods (ignored with ``lead_time_pmf``).
    review_period
        (N,) or scalar review period R in periods (0 for continuous review).
    lead_time_sd
        (N,) or scalar standard deviation of the lead time (0: deterministic).
    lead_time_pmf
        Optional (Lmax+1,) or (N, Lmax+1) probabilities of a lead time of 0, 1, ... periods
        (an empirical distribution from receipts). Rows are normalised to sum to 1.
    distribution
        Family per series (see :func:`distribution_for_pattern`), or (N, K) per series
        and level.
    history
        (N, T) past demand for ``empirical`` series; also tells which series are counted
        in whole units when ``whole_units`` is ``None``.
    whole_units
        As in :func:`period_quantiles`: the lead-time demand of a series counted in whole
        units is a whole number too, so its quantiles are rounded up to the next one.

    Examples
    --------
    Normal demand mu = 100, sigma = 30 per week, L = 4 weeks, R = 0: lead-time demand has
    mean 400 and sd 60; the 0.95 quantile is 400 + 1.645 x 60 = 498.7.

    >>> r = lead_time_quantiles([100.0], [30.0], [0.95], lead_time=4)
    >>> float(r.mean[0]), float(r.sd[0]), round(float(r.values[0, 0]), 1)
    (400.0, 60.0, 498.7)
    """
    owner = "lead_time_quantiles"
    lv = _levels(levels, owner)
    m = np.asarray(mean, dtype=np.float64)
    n = m.shape[0] if m.ndim else 1
    s_in = np.asarray(sd, dtype=np.float64)
    per_level = s_in.ndim == 2
    if per_level and s_in.shape != (n, lv.size):
        raise InvalidDataError(
            f"{owner}: sd of shape {s_in.shape} for {n} series and {lv.size} levels."
        )
    s = np.nan_to_num(s_in if per_level else np.broadcast_to(s_in, (n,)), nan=0.0)
    review = _per_series(review_period, n, owner, "review_period")
    pmf: FloatArray | None = None
    if lead_time_pmf is not None:
        pmf = np.atleast_2d(np.asarray(lead_time_pmf, dtype=np.float64))
        if np.any(pmf < 0) or np.any(pmf.sum(axis=1) <= 0):
            raise parameter_error(
                owner, "lead_time_pmf", "non-negative rows with a positive sum", pmf.tolist()[:3]
            )
        pmf = np.broadcast_to(pmf / pmf.sum(axis=1, keepdims=True), (n, pmf.shape[1]))
        support = np.arange(pmf.shape[1], dtype=np.float64)
        el = pmf @ support
        var_l = pmf @ support**2 - el**2
    else:
        el = _per_series(lead_time, n, owner, "lead_time").copy()
        var_l = _per_series(lead_time_sd, n, owner, "lead_time_sd") ** 2
    periods = el + review
    if m.ndim == 2:
        h = m.shape[1]
        span = np.clip(np.ceil(periods).astype(np.int64), 1, h)
        csum = np.cumsum(np.clip(m, 0.0, None), axis=1)
        mu = csum[np.arange(n), span - 1] / span
    else:
        mu = np.clip(np.broadcast_to(m, (n,)).astype(np.float64), 0.0, None)
    total_mean = mu * periods
    if per_level:
        total_var = periods[:, None] * s * s + (mu * mu * var_l)[:, None]
    else:
        total_var = periods * s * s + mu * mu * var_l
    dist = _distribution_array(distribution, n, owner, levels=lv.size)
    values = _family_quantiles(dist, lv, total_mean, total_var)
    if pmf is not None:
        # one level at a time where the spread or the family is given per level
        by_level = per_level or dist.ndim == 2
        for j in range(lv.size) if by_level else [None]:
            fam = dist[:, j] if dist.ndim == 2 and j is not None else dist
            var = s[:, j] ** 2 if per_level and j is not None else s**2
            fam_rows = fam != Distribution.EMPIRICAL
            if not fam_rows.any():
                continue
            cols = slice(None) if j is None else slice(j, j + 1)
            values[fam_rows, cols] = _mixture_quantiles(
                dist=fam[fam_rows],
                levels=lv[cols],
                mu=mu[fam_rows],
                var=var[fam_rows],
                review=review[fam_rows],
                pmf=pmf[fam_rows],
            )
        values = np.maximum.accumulate(values, axis=1)
    emp_at = dist == Distribution.EMPIRICAL
    emp = emp_at.any(axis=1) if emp_at.ndim == 2 else emp_at
    if emp.any():
        if history is None:
            raise parameter_error(owner, "history", "an (N, T) matrix for empirical series", None)
        rng = _rng(seed)
        hist = np.atleast_2d(np.asarray(history, dtype=np.float64))[emp]
        if pmf is not None:
            cdf = np.cumsum(pmf[emp], axis=1)
            u = rng.random((hist.shape[0], n_samples))
            draws_l = (u[:, :, None] > cdf[:, None, :]).sum(axis=2).astype(np.float64)
        else:
            draws_l = np.clip(
                np.rint(
                    el[emp][:, None]
                    + np.sqrt(var_l[emp])[:, None] * rng.standard_normal((hist.shape[0], n_samples))
                ),
                0.0,
                None,
            )
        draws = draws_l + review[emp][:, None]
        samples = _bootstrap_variable(hist, draws, rng)
        boot = mu[emp][:, None] * _rescaled_quantiles(samples, hist, lv)
        if emp_at.ndim == 2:  # only the levels where the series takes the bootstrap
            boot = np.maximum.accumulate(np.where(emp_at[emp], boot, values[emp]), axis=1)
        values[emp] = boot
    # the sd of lead-time demand: that of the highest level where it is given per level
    ltd_sd = np.sqrt(total_var[:, -1] if per_level else total_var)
    values = in_whole_units(values, whole_units, history)
    return LeadTimeQuantiles(lv, values, total_mean, ltd_sd, periods, dist)


def _bootstrap_variable(
    history: FloatArray, periods: FloatArray, rng: np.random.Generator
) -> FloatArray:
    """(N, S) sums of ``periods[i, s]`` bootstrapped demands (fractional last period)."""
    t = history.shape[1]
    obs = ~np.isnan(history)
    n_obs = np.maximum(obs.sum(axis=1), 1)
    first = np.where(obs.any(axis=1), obs.argmax(axis=1), t)
    filled = np.nan_to_num(history, nan=0.0)
    out = np.zeros(periods.shape)
    k_max = int(np.ceil(periods.max())) if periods.size else 0
    for k in range(k_max):
        u = rng.random(periods.shape)
        idx = np.minimum(first[:, None] + (u * n_obs[:, None]).astype(np.int64), t - 1)
        out += np.clip(periods - k, 0.0, 1.0) * np.take_along_axis(filled, idx, axis=1)
    return out


def _mixture_quantiles(
    *,
    dist: NDArray[np.str_],
    levels: FloatArray,
    mu: FloatArray,
    var: FloatArray,
    review: FloatArray,
    pmf: FloatArray,
    iterations: int = 60,
) -> FloatArray:
    """Quantiles of sum_l p_l F(x; mu (l+R), var (l+R)) by bisection, all series at once."""
    n = mu.size
    k = levels.size
    support = np.arange(pmf.shape[1], dtype=np.float64)
    periods = support[None, :] + review[:, None]  # (n, L)
    m_l = mu[:, None] * periods
    v_l = var[:, None] * periods
    hi = np.ceil(m_l.max(axis=1) + 12.0 * np.sqrt(v_l.max(axis=1)) + 10.0)[:, None] * np.ones(
        (n, k)
    )
    out = np.zeros((n, k))
    for fam in np.unique(dist):
        rows = dist == fam
        discrete = fam in (Distribution.POISSON, Distribution.NEGATIVE_BINOMIAL)
        # Invariant: F(a) < level <= F(b); the answer is b (smallest such integer if discrete).
        a = np.full((int(rows.sum()), k), -1.0)
        b = hi[rows]
        mm, vv, pp = m_l[rows][:, None, :], v_l[rows][:, None, :], pmf[rows][:, None, :]
        for _ in range(iterations):
            mid = np.floor(0.5 * (a + b)) if discrete else 0.5 * (a + b)
            c = (pp * _cdf(str(fam), mid[..., None], mm, vv)).sum(axis=2)
            below = c < levels[None, :]
            a = np.where(below, mid, a)
            b = np.where(below, b, mid)
            if discrete and np.all(b - a <= 1.0):
                break
        out[rows] = b
    return np.maximum.accumulate(np.clip(out, 0.0, None), axis=1)


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class CalibrationReport:
    """Share of actuals at or below each quantile in a backtest.

    ``observed[j]`` should be close to ``levels[j]`` for a calibrated forecast;
    ``n_observations`` is the number of (series, period) pairs behind each share.
    """

    levels: FloatArray
    observed: FloatArray
    n_observations: int


def calibration_report(
    actual: ArrayLike, quantiles: ArrayLike, levels: ArrayLike
) -> CalibrationReport:
    """Pooled coverage of each quantile level over all series and periods.

    Parameters
    ----------
    actual
        (N, h) actuals (NaN ignored).
    quantiles
        (N, h, K) quantiles, e.g. :attr:`QuantileForecast.values` of a backtest.

    >>> calibration_report([[1.0, 3.0]], [[[2.0], [2.0]]], [0.9]).observed.tolist()
    [0.5]
    """
    a = np.atleast_2d(np.asarray(actual, dtype=np.float64))
    q = np.asarray(quantiles, dtype=np.float64)
    lv = np.asarray(levels, dtype=np.float64).reshape(-1)
    if q.shape != (*a.shape, lv.size):
        raise InvalidDataError(
            f"calibration_report: quantiles must have shape {(*a.shape, lv.size)}; got {q.shape}."
        )
    ok = ~np.isnan(a)
    n_obs = int(ok.sum())
    hit = (a[..., None] <= q) & ok[..., None]
    observed = hit.sum(axis=(0, 1)) / max(n_obs, 1) if n_obs else np.full(lv.size, np.nan)
    return CalibrationReport(lv, np.asarray(observed, dtype=np.float64), n_obs)


def calibrated_levels(report: CalibrationReport, targets: ArrayLike) -> FloatArray:
    """Nominal levels to ask for so that the observed coverage meets ``targets``.

    Learned from a backtest :class:`CalibrationReport` on a fine grid of nominal levels:
    the observed shares are made non-decreasing, then inverted by linear interpolation.
    A target above the largest observed share maps to the largest nominal level of the
    grid (the report cannot say more); below the smallest it maps to the smallest.

    >>> rep = CalibrationReport(np.array([0.5, 0.9, 0.95]), np.array([0.55, 0.85, 0.9]), 100)
    >>> np.round(calibrated_levels(rep, [0.7, 0.9]), 4).tolist()
    [0.7, 0.95]
    """
    t = np.asarray(targets, dtype=np.float64).reshape(-1)
    obs = np.maximum.accumulate(np.nan_to_num(report.observed, nan=0.0))
    # strictly increasing x for interp: nudge ties
    obs = obs + np.arange(obs.size) * 1e-12
    return np.interp(t, obs, report.levels)


# --------------------------------------------------------------------------- learned family


@dataclass(frozen=True)
class DistributionChoice:
    """Distribution family per group (e.g. demand pattern) learned by backtest pinball loss.

    ``losses[g, f]`` is the mean scaled pinball loss over the levels of family
    ``candidates[f]`` on group ``groups[g]``; ``families[g]`` the lowest.
    """

    groups: tuple[str, ...]
    families: tuple[str, ...]
    candidates: tuple[str, ...]
    losses: FloatArray

    def apply(self, groups: ArrayLike, default: ArrayLike) -> NDArray[np.str_]:
        """Family per series: the learned one of its group, else ``default`` (per series)."""
        g = np.asarray(groups).astype(str).reshape(-1)
        out = np.asarray(default).astype("<U20").reshape(-1).copy()
        for name, fam in zip(self.groups, self.families, strict=True):
            out[g == name] = fam
        return out


def choose_distribution(
    actual: ArrayLike,
    mean: ArrayLike,
    sd: ArrayLike,
    history: ArrayLike,
    groups: ArrayLike,
    *,
    levels: ArrayLike = (0.5, 0.8, 0.9, 0.95, 0.99),
    candidates: tuple[str, ...] = (
        Distribution.NORMAL,
        Distribution.GAMMA,
        Distribution.POISSON,
        Distribution.NEGATIVE_BINOMIAL,
    ),
    count_groups: tuple[str, ...] = (
        DemandPattern.INTERMITTENT,
        DemandPattern.LUMPY,
        DemandPattern.NO_DEMAND,
    ),
) -> DistributionChoice:
    """Pick the family of each group with the lowest backtest scaled pinball loss.

    Parameters
    ----------
    actual
        (N, h) holdout actuals of a backtest.
    mean, sd
        (N, h) forecasts and (N,) or (N, h) spreads made without the holdout.
    history
        (N, T) training history (scale of the pinball loss, M5 SPL).
    groups
        (N,) group label per series (demand pattern, ABC class, ...).
    count_groups
        Groups that may get a count family (Poisson, negative binomial); the others choose
        among the continuous ones only, so one unrepresentative backtest window cannot
        put a high-volume smooth series on a Poisson law.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> act = rng.poisson(0.3, (300, 6)).astype(float)
    >>> hist = rng.poisson(0.3, (300, 30)).astype(float)
    >>> c = choose_distribution(act, np.full((300, 6), 0.3), np.full(300, 0.55), hist,
    ...                         ["lumpy"] * 300)
    >>> c.families[0] in ("poisson", "negative_binomial")
    True
    """
    from stockpilot.core.forecast.metrics import scaled_pinball_loss

    a = np.atleast_2d(np.asarray(actual, dtype=np.float64))
    m = np.atleast_2d(np.asarray(mean, dtype=np.float64))
    hist = np.atleast_2d(np.asarray(history, dtype=np.float64))
    s = np.asarray(sd, dtype=np.float64)
    g = np.asarray(groups).astype(str).reshape(-1)
    lv = _levels(levels, "choose_distribution")
    names = tuple(str(c) for c in candidates)
    labels = tuple(str(x) for x in np.unique(g))
    losses = np.full((len(labels), len(names)), np.nan)
    for f, fam in enumerate(names):
        q = period_quantiles(m, s, lv, distribution=fam).values
        if not a.shape[0]:
            break
        losses_by_level = np.stack(
            [scaled_pinball_loss(a, q[:, :, j], hist, float(x)) for j, x in enumerate(lv)]
        )
        ok = np.isfinite(losses_by_level)
        per_series = np.where(
            ok.any(axis=0),
            np.where(ok, losses_by_level, 0.0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1),
            np.nan,
        )
        is_count = fam in (Distribution.POISSON, Distribution.NEGATIVE_BINOMIAL)
        for k, label in enumerate(labels):
            vals = per_series[g == label]
            if is_count and label not in {str(x) for x in count_groups}:
                continue
            if np.isfinite(vals).any():
                losses[k, f] = float(np.nanmean(vals))
    best = tuple(
        names[int(np.nanargmin(row))] if np.isfinite(row).any() else names[0] for row in losses
    )
    return DistributionChoice(labels, best, names, losses)
