"""Learned spread of the selected forecasts: a scale and a horizon growth of the residual sd.

The selection (:mod:`stockpilot.core.forecast.selection`, rule 6) gives a tested series the
normal quantiles ``mean + z * c * residual_sd * sqrt(1 + g (j - 1))`` at step j, with (c, g)
chosen per level of :data:`SPREAD_LEVELS` on the grids :data:`SPREAD_GRID` x
:data:`GROWTH_GRID` by the mean scaled pinball loss at that level over the rolling origins
(out of sample: each origin's forecast and residual sd were fitted on the data before it).
One (c, g) per level lets the quantiles follow an error distribution that is not normal (a
skewed one wants a different multiplier at 0.9 than at 0.95); levels between the learned
ones interpolate the multiplier in z, levels outside take the nearest learned one
(:func:`level_weights`). In intermittent groups the count family of each pattern is scored
per level too, and keeps the levels where it is lower (:class:`LevelSpread`). The loss of
every grid point and level is summed in one compiled pass over the scored values, without
(series, grid, step) temporaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from stockpilot.core.forecast.quantiles import (
    WHOLE_UNIT_TOLERANCE,
    _ppf,
    distribution_for_pattern,
)

FloatArray = NDArray[np.float64]

__all__ = [
    "GROWTH_GRID",
    "SPREAD_GRID",
    "SPREAD_LEVELS",
    "SPREAD_SAMPLE",
    "ActiveDemand",
    "LevelSpread",
    "active_demand",
    "largest_spread",
    "learn_spread",
    "level_weights",
    "spread_units",
]

SPREAD_GRID = np.round(np.arange(0.5, 2.01, 0.1), 2)
#: Series of a unit scored for its (c, g) at most. The grid loss is compiled, so a sample
#: saves little: scoring every series of an M5 store (3,000 series x 2 origins x 13 steps)
#: instead of 400 took the spread learning from 29 to 47 ms of a 0.35 s run (profiled);
#: the branch-free grid loss then took the learning to about 18 ms for the whole store.
#: With the earlier 400 the choice moved with the sample (validation window 2: M5 CA_1
#: SPL.95 0.2070 with 400 series, 0.2052 with all; RAF SPL.90 0.6894 -> 0.6595).
SPREAD_SAMPLE = 5000
GROWTH_GRID = np.array([0.0, 0.025, 0.05, 0.1, 0.2])
SPREAD_LEVELS = (0.9, 0.95)


@dataclass(frozen=True)
class LevelSpread:
    """Multiplier c and horizon growth g of the residual sd, learned per level.

    ``scale[k]`` and ``growth[k]`` belong to ``levels[k]`` (ascending). ``normal[k]`` is
    False where the count family of the series' pattern scored lower than every (c, g) at
    that level: those series keep the count family and the default spread there (their
    (c, g) is then the nearest normal level's, for :meth:`normal_only`).
    """

    levels: tuple[float, ...]
    scale: tuple[float, ...]
    growth: tuple[float, ...]
    normal: tuple[bool, ...] | None = None

    @property
    def normal_levels(self) -> tuple[bool, ...]:
        return (True,) * len(self.levels) if self.normal is None else self.normal

    @classmethod
    def uniform(cls, c: float, g: float) -> LevelSpread:
        """The same (c, g) at every level of :data:`SPREAD_LEVELS`."""
        k = len(SPREAD_LEVELS)
        return cls(SPREAD_LEVELS, (c,) * k, (g,) * k)

    def normal_only(self) -> LevelSpread:
        """Normal at every level: a count level takes the (c, g) of the nearest normal
        level (the higher one on a tie)."""
        normal_at = [i for i, ok in enumerate(self.normal_levels) if ok]
        near = [min(normal_at, key=lambda i: (abs(i - k), -i)) for k in range(len(self.levels))]
        return LevelSpread(
            self.levels,
            tuple(self.scale[i] for i in near),
            tuple(self.growth[i] for i in near),
        )

    def multipliers(self, h: int) -> FloatArray:
        """(K, h) ``c * sqrt(1 + g * j)`` of each learned level at steps j = 0..h-1."""
        c = np.asarray(self.scale)[:, None]
        g = np.asarray(self.growth)[:, None]
        return np.asarray(c * np.sqrt(1.0 + g * np.arange(h)[None, :]), dtype=np.float64)


def level_weights(learned: tuple[float, ...], levels: ArrayLike) -> FloatArray:
    """(K, L) weights of the ``learned`` levels (L, ascending) in the spread of each of the
    ``levels`` (K): linear in z between two learned levels, the nearest one outside.

    >>> level_weights((0.9, 0.95), [0.5, 0.9, 0.925, 0.99]).round(3).tolist()
    [[1.0, 0.0], [1.0, 0.0], [0.565, 0.435], [0.0, 1.0]]
    """
    lv = np.clip(np.asarray(levels, dtype=np.float64).reshape(-1), learned[0], learned[-1])
    z = norm.ppf(lv)
    zl = norm.ppf(np.asarray(learned, dtype=np.float64))
    w = np.zeros((z.size, zl.size))
    if zl.size == 1:
        w[:, 0] = 1.0
        return w
    hi = np.clip(np.searchsorted(zl, z, side="left"), 1, zl.size - 1)
    lo = hi - 1
    frac = np.clip((z - zl[lo]) / (zl[hi] - zl[lo]), 0.0, 1.0)
    rows = np.arange(z.size)
    w[rows, lo] = 1.0 - frac
    w[rows, hi] += frac
    return w


#: Rolling-origin results kept by the selection, per origin: the rows scored there, their
#: actuals, and per candidate column its forecasts and residual sd at that origin.
OriginRecord = tuple[NDArray[np.bool_], FloatArray, dict[int, tuple[FloatArray, FloatArray]]]


def spread_units(
    pattern: NDArray[np.str_], tested: NDArray[np.bool_], min_series: int
) -> list[tuple[NDArray[np.bool_], NDArray[np.bool_]]]:
    """(rows that learn a spread, rows that use it): each demand pattern with at least
    ``min_series`` tested series learns its own; the other tested series share the one
    learned on the whole group (``min_series = 0``: one spread per group)."""
    if min_series <= 0:
        return [(tested, tested)]
    units: list[tuple[NDArray[np.bool_], NDArray[np.bool_]]] = []
    rest = tested.copy()
    for value in np.unique(pattern[tested]):
        rows = tested & (pattern == value)
        if rows.sum() >= min_series:
            units.append((rows, rows))
            rest &= ~rows
    if rest.any():
        units.append((tested, rest))
    return units


@dataclass(frozen=True)
class ActiveDemand:
    """Demand of each series while it sold (:func:`active_demand`).

    Attributes
    ----------
    rms
        (N,) root mean square of the demand per period from the first observation to the
        last positive demand, recency-weighted from that last demand (NaN: no demand).
    share
        (N,) share of those periods with a positive demand (NaN: no demand); 1 / share is
        the average inter-demand interval (ADI) of the active history.
    """

    rms: FloatArray
    share: FloatArray


def active_demand(y: FloatArray, half_life: float | None) -> ActiveDemand:
    """Size and frequency of each series' demand over its active history, i.e. before its
    final run of zeros.

    An end-of-life series (selection rule 6) has a final run of zeros; if demand resumes
    (after a stock-out or a pause) it resumes at about the size it had while the item sold.
    The root mean square of the active demand is the spread of a zero forecast around
    that demand: the residual sd a method forecasting 0 would have had on the active
    periods. The periods are weighted ``0.5 ** ((last - t) / half_life)`` from the last
    positive demand at ``last`` (``None``: unweighted), as the residual sd is weighted from
    the last period (:func:`~stockpilot.core.forecast.base.weighted_residual_sd`).

    Parameters
    ----------
    y
        (N, T) demand per period, NaN before the first observation (and where missing).
    half_life
        Half-life of the weights in periods, or ``None``.

    Examples
    --------
    >>> d = active_demand(np.array([[np.nan, 2.0, 0.0, 2.0, 0.0, 0.0]]), None)
    >>> d.rms.round(4).tolist(), d.share.round(4).tolist()
    ([1.633], [0.6667])
    """
    t = y.shape[1]
    pos = np.nan_to_num(y) > 0
    any_pos = pos.any(axis=1)
    last = t - 1 - np.argmax(pos[:, ::-1], axis=1)
    period = np.arange(t)[None, :]
    active = (period <= last[:, None]) & np.isfinite(y)
    weight = np.where(active, 1.0, 0.0)
    if half_life is not None:
        weight = weight * 0.5 ** ((last[:, None] - period) / half_life)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.sqrt((weight * np.nan_to_num(y) ** 2).sum(axis=1) / weight.sum(axis=1))
        share = (pos & active).sum(axis=1) / active.sum(axis=1)
    return ActiveDemand(np.where(any_pos, rms, np.nan), np.where(any_pos, share, np.nan))


def largest_spread(spreads: list[tuple[LevelSpread, int]]) -> LevelSpread | None:
    """The learned spread that covers the most series (None if none)."""
    if not spreads:
        return None
    return max(spreads, key=lambda t: t[1])[0]


@numba.njit(cache=True)
def _grid_pinball(  # noqa: PLR0917 (a compiled kernel: positional arrays)
    mu: FloatArray,
    sd: FloatArray,
    y: FloatArray,
    ok: NDArray[np.bool_],
    z: FloatArray,
    tau: FloatArray,
    mults: FloatArray,
    whole: NDArray[np.bool_],
) -> FloatArray:
    """(rows, levels, grid) pinball loss summed over the scored steps, of the quantiles
    ``max(mu + z * sd * mults[g], 0)``, rounded up to a whole unit in ``whole`` rows (mu,
    y, ok: (rows, steps); sd, whole: (rows,); z, tau: (levels,); mults: (grid, steps))."""
    n_rows, n_steps = mu.shape
    n_grid = mults.shape[0]
    by_step = np.ascontiguousarray(mults.T)  # (steps, grid): the inner loop runs along a row
    out = np.zeros((n_rows, z.size, n_grid))
    for r in range(n_rows):
        units = whole[r]
        for s in range(n_steps):
            if not ok[r, s]:
                continue
            m = mu[r, s]
            actual = y[r, s]
            step = by_step[s]
            for lv in range(z.size):
                row = out[r, lv]
                zs = z[lv] * sd[r]
                t = tau[lv]
                if units:
                    for g in range(n_grid):
                        d = actual - np.ceil(max(m + zs * step[g], 0.0) - WHOLE_UNIT_TOLERANCE)
                        row[g] += max(t * d, (t - 1.0) * d)
                else:
                    for g in range(n_grid):
                        d = actual - max(m + zs * step[g], 0.0)
                        row[g] += max(t * d, (t - 1.0) * d)  # the pinball loss, no branch
    return out


def _step_quantiles(
    family: str, levels: FloatArray, mean: FloatArray, var: FloatArray
) -> FloatArray:
    """(rows, steps, levels) quantiles of ``family`` around ``mean`` (rows, steps) with
    variance ``var`` (rows,). Rows whose forecast is flat over the steps (every method of
    the intermittent group) are computed once per level, not once per step: the count
    laws' quantiles are searches, the costliest part of the spread learning."""
    flat = (mean == mean[:, :1]).all(axis=1)
    out = np.empty((*mean.shape, levels.size))
    out[flat] = _ppf(family, levels[None, None, :], mean[flat, :1, None], var[flat, None, None])
    out[~flat] = _ppf(family, levels[None, None, :], mean[~flat, :, None], var[~flat, None, None])
    return out


def learn_spread(
    kept: list[OriginRecord],
    win: NDArray[np.int64],
    tested: NDArray[np.bool_],
    scale: FloatArray,
    *,
    eval_h: int,
    count_patterns: NDArray[np.str_] | None = None,
    partner: NDArray[np.int64] | None = None,
    partner_weight: float = 0.0,
    whole_units: NDArray[np.bool_] | None = None,
) -> LevelSpread | None:
    """Scale c and horizon growth g of the in-sample residual sd for normal quantiles
    ``mean + z * c * sd * sqrt(1 + g (j - 1))`` at step j, chosen per level of
    :data:`SPREAD_LEVELS` on the rolling origins by the group's mean scaled pinball loss
    at that level.

    Every origin's quantiles use that origin's forecasts and residual sd (fitted on the data
    before the origin only), so the choice is out of sample. ``None`` when fewer than 10
    series are scored, or when ``count_patterns`` (the demand patterns of the rows) is given
    and the count family of each pattern (:func:`distribution_for_pattern` with the same
    mean and residual variance) scores lower than the best normal choice at every level;
    where it scores lower at some levels only, those are marked (``LevelSpread.normal``).

    ``partner`` (column per row, -1 for none) and ``partner_weight`` w: the rows' forecasts
    are ``(1 - w) x`` their winner's ``+ w x`` the partner's (the selection's shrinkage toward
    the group-best, rule 5), at every origin as in the final forecast; the sd stays the
    winner's.

    ``whole_units`` (per row): series counted in whole units, whose quantiles are issued
    rounded up to the next whole unit (:func:`~stockpilot.core.forecast.quantiles.period_quantiles`);
    their grid is scored on those rounded quantiles, so (c, g) is learned for the quantiles
    actually issued.
    """
    z = norm.ppf(np.asarray(SPREAD_LEVELS))
    tau = np.asarray(SPREAD_LEVELS)
    growth = np.sqrt(1.0 + GROWTH_GRID[:, None] * np.arange(eval_h)[None, :])  # (G, steps)
    mults = (SPREAD_GRID[:, None, None] * growth[None, :, :]).reshape(-1, eval_h)  # (C*G, steps)
    loss = np.zeros((win.size, tau.size, mults.shape[0]))
    count = np.zeros(win.size)
    count_loss = np.zeros((win.size, tau.size))
    eligible = tested & np.isfinite(scale) & (scale > 0)
    if eligible.sum() > SPREAD_SAMPLE:
        # a group-level choice: score a sample of series picked by their data (not by their
        # position, so the result does not depend on the order of the series)
        key = np.where(eligible, (scale * 1e3 * 0.6180339887) % 1.0, np.inf)
        eligible = np.zeros_like(eligible)
        eligible[np.argsort(key, kind="stable")[:SPREAD_SAMPLE]] = True
    for ok_rows, actual_all, fcs in kept:
        local = eligible[ok_rows]
        idx = np.flatnonzero(ok_rows)[local]
        actual = actual_all[local]
        w = win[idx]
        steps = actual.shape[1]
        mu = np.zeros_like(actual)
        sd = np.full(idx.size, np.nan)
        at = np.flatnonzero(local)  # positions of the scored rows among the origin's rows
        for j, (fc_all, rsd_all) in fcs.items():
            pick = np.flatnonzero(w == j)
            mu[pick] = fc_all[at[pick], :steps]
            sd[pick] = rsd_all[at[pick]]
        if partner is not None and partner_weight > 0:
            mate = partner[idx]
            for j, (fc_all, _) in fcs.items():
                pick = np.flatnonzero(mate == j)
                mu[pick] = (1.0 - partner_weight) * mu[pick] + partner_weight * fc_all[
                    at[pick], :steps
                ]
        ok = ~np.isnan(actual) & np.isfinite(sd)[:, None]
        y = np.where(ok, actual, 0.0)
        s0 = np.nan_to_num(sd)
        whole = np.zeros(idx.size, dtype=np.bool_) if whole_units is None else whole_units[idx]
        loss[idx] += _grid_pinball(
            np.ascontiguousarray(mu),
            s0,
            y,
            ok,
            z,
            tau,
            np.ascontiguousarray(mults[:, :steps]),
            whole,
        )
        count[idx] += ok.sum(axis=1)
        if count_patterns is not None:
            fam = distribution_for_pattern(count_patterns[idx], mu[:, 0], s0 * s0)
            for f in np.unique(fam):
                r = fam == f
                lv_arr = tau[None, None, :]
                q = _step_quantiles(str(f), tau, mu[r], s0[r] ** 2)
                d = y[r][:, :, None] - q
                pin = np.where(d >= 0, lv_arr * d, (lv_arr - 1.0) * d)  # (rows, steps, levels)
                count_loss[idx[r]] += np.where(ok[r][:, :, None], pin, 0.0).sum(axis=1)
    use = eligible & (count > 0)
    if use.sum() < 10:
        return None
    per_series = loss[use] / count[use, None, None] / scale[use, None, None]
    group_loss = per_series.mean(axis=0)  # (levels, grid)
    best = np.argmin(group_loss, axis=1)
    normal = np.ones(tau.size, dtype=bool)
    if count_patterns is not None:
        per_level = (count_loss[use] / count[use, None] / scale[use, None]).mean(axis=0)
        normal = group_loss[np.arange(tau.size), best] < per_level
        if not normal.any():
            return None
    c, g = np.divmod(best, GROWTH_GRID.size)
    return LevelSpread(
        SPREAD_LEVELS,
        tuple(float(x) for x in SPREAD_GRID[c]),
        tuple(float(x) for x in GROWTH_GRID[g]),
        None if normal.all() else tuple(bool(x) for x in normal),
    )
