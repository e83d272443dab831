"""Vectorized box-constrained minimisation shared by every smoothing model.

All series are optimized at once: the objective receives candidate parameters for every
series as an (N, G, P) array (G candidates of P parameters each) and returns the (N, G)
objective values. The search is

1. a coarse grid: the same G0 points for every series, keep each series' best; then
2. a multi-scale compass (pattern) search: try every parameter +/- its step, at ``scales``
   step sizes (step, step/2, step/4, ...) at once, for all series at once; move the series
   that improved (keeping the step that won), divide the step of the others by
   ``2 ** scales`` (compass search: Kolda, Lewis & Torczon 2003, "Optimization by direct
   search", SIAM Review 45(3), sec. 3; trying several step sizes per iteration trades a
   few more candidates for far fewer passes over the data, which is what costs).

The Python loop runs over iterations only (a fixed, small number), never over series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stockpilot.core.forecast.base import FloatArray

Objective = Callable[[FloatArray], FloatArray]
#: ``objective(x, rows)``: (len(rows), G, P) candidates of the series ``rows`` -> (len(rows), G)
RowObjective = Callable[[FloatArray, NDArray[np.intp]], FloatArray]

_ITERATION_LIMIT: ContextVar[int | None] = ContextVar("compass_iteration_limit", default=None)
_POLISH: ContextVar[bool] = ContextVar("simplex_polish", default=True)


@contextmanager
def limited_search(iterations: int) -> Iterator[None]:
    """Cap the compass iterations of every cold-started :func:`minimize_box` run inside
    the block (the grid is still searched; warm-started runs keep their own count).

    Used where the estimates are refined later anyway: the selection's rolling origins,
    whose parameters seed the warm-started refit on the full history.
    """
    token = _ITERATION_LIMIT.set(iterations)
    try:
        yield
    finally:
        _ITERATION_LIMIT.reset(token)


@contextmanager
def without_polish() -> Iterator[None]:
    """Skip the simplex polish (:func:`polish_simplex`) of the smoothing models' fits
    inside the block: the automatic selection fits thousands of series several times and
    takes the grid + compass optimum (measured in docs/forecasting-models.md)."""
    token = _POLISH.set(False)
    try:
        yield
    finally:
        _POLISH.reset(token)


def polish_enabled() -> bool:
    """False inside :func:`without_polish`."""
    return _POLISH.get()


@dataclass(frozen=True)
class BoxOptimum:
    """Best parameters found per series.

    Attributes
    ----------
    x
        (N, P) parameters.
    value
        (N,) objective at ``x`` (inf where the objective was never finite).
    """

    x: FloatArray
    value: FloatArray


def grid_points(axes: list[FloatArray]) -> FloatArray:
    """Cartesian product of 1-D axes as a (G, P) array."""
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def minimize_box(
    objective: Objective,
    n_series: int,
    *,
    lower: FloatArray,
    upper: FloatArray,
    grid: FloatArray,
    iterations: int = 4,
    scales: int = 4,
    initial_step: FloatArray | None = None,
    x0: FloatArray | None = None,
) -> BoxOptimum:
    """Minimise ``objective`` over a box for every series simultaneously.

    Parameters
    ----------
    objective
        Maps (N, G, P) candidates to (N, G) values (NaN/inf count as +inf).
    n_series
        N.
    lower, upper
        (P,) box bounds (inclusive).
    grid
        (G0, P) starting grid, shared by all series.
    iterations
        Compass-search iterations after the grid (each is one objective call).
    scales
        Step sizes tried per direction and iteration.
    initial_step
        (P,) first compass step; default a quarter of the grid spacing estimate
        ``(upper - lower) / (2 * G0 ** (1 / P))``.
    x0
        (N, P) per-series starting points (a warm start, e.g. the optimum on a shorter part
        of each series): the compass search starts there instead of at the best grid point,
        and the grid is not evaluated (``grid`` only sets the default step).
    """
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    p = lower.size
    g0 = grid.shape[0]
    limit = _ITERATION_LIMIT.get()
    if x0 is None and limit is not None:
        iterations = min(iterations, limit)
    rows = np.arange(n_series)
    fx: FloatArray | None = None
    if x0 is not None:
        # the start is scored together with the first compass moves (one pass, not two)
        x = np.clip(np.asarray(x0, dtype=np.float64), lower, upper).reshape(n_series, p)
    else:
        cand = np.broadcast_to(grid[None, :, :], (n_series, g0, p)).copy()
        vals = _clean(objective(cand))
        best = np.argmin(vals, axis=1)
        x = cand[rows, best, :].copy()
        fx = vals[rows, best]
    if initial_step is None:
        initial_step = (upper - lower) / (2.0 * max(g0 ** (1.0 / p), 1.0))
    step = np.broadcast_to(np.asarray(initial_step, dtype=np.float64), (n_series, p)).copy()
    eye = np.eye(p)
    factors = 0.5 ** np.arange(scales)  # (K,)
    # (2PK, P) unit moves and the scale index of each
    directions = np.concatenate(
        [np.concatenate([eye * f, -eye * f], axis=0) for f in factors], axis=0
    )
    scale_of = np.repeat(np.arange(scales), 2 * p)
    for _ in range(iterations):
        trial = x[:, None, :] + directions[None, :, :] * step[:, None, :]
        np.clip(trial, lower, upper, out=trial)
        if fx is None:
            both = _clean(objective(np.concatenate([x[:, None, :], trial], axis=1)))
            fx, tv = both[:, 0], both[:, 1:]
        else:
            tv = _clean(objective(trial))
        j = np.argmin(tv, axis=1)
        ft = tv[rows, j]
        better = ft < fx
        x[better] = trial[rows[better], j[better], :]
        fx = np.where(better, ft, fx)
        won = factors[scale_of[j]]
        step = np.where(better[:, None], step * won[:, None], step * 0.5**scales)
    if fx is None:
        fx = _clean(objective(x[:, None, :]))[:, 0]
    return BoxOptimum(x=x, value=fx)


def _clean(v: FloatArray) -> FloatArray:
    return np.where(np.isfinite(v), v, np.inf)


def polish_simplex(
    objective: RowObjective,
    start: BoxOptimum,
    *,
    lower: FloatArray,
    upper: FloatArray,
    size: FloatArray,
    iterations: int,
    tolerance: float = 1e-9,
) -> BoxOptimum:
    """Nelder-Mead simplex search from ``start.x`` for every series in lockstep, projected
    on the box (Lagarias, Reeds, Wright and Wright 1998, "Convergence properties of the
    Nelder-Mead simplex method in low dimensions", SIAM J. Optim. 9(1): reflection 1,
    expansion 2, contraction 1/2, shrink 1/2).

    ``objective(x, rows)`` scores (len(rows), G, P) candidates of the series ``rows``. The
    initial simplex is ``x`` and ``x + size_i e_i`` (stepping inward at an upper bound).
    Each iteration makes one objective call with P + 4 candidates per active series: the
    reflected, expanded, outside- and inside-contracted points and the P shrunk vertices,
    and every series takes its own Nelder-Mead move from them. A series stops once its
    simplex values agree within ``tolerance`` (absolute), so its result does not depend on
    the other series of the call; all stop after ``iterations``. A compass search moves
    along the axes only and crawls along curved valleys (Holt's alpha-beta valley); the
    simplex adapts its shape to them. Never returns a point worse than ``start``.
    """
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    n, p = start.x.shape
    if n == 0 or iterations <= 0:
        return start
    x0 = start.x
    step = np.broadcast_to(np.asarray(size, dtype=np.float64), (p,))
    # (N, P+1, P) simplex: the start and one step along each axis (inward at the bound)
    simplex = np.repeat(x0[:, None, :], p + 1, axis=1)
    for i in range(p):
        up = x0[:, i] + step[i]
        simplex[:, i + 1, i] = np.where(up <= upper[i], up, x0[:, i] - step[i])
    np.clip(simplex, lower, upper, out=simplex)
    fs = np.empty((n, p + 1))
    fs[:, 0] = start.value
    every = np.arange(n)
    fs[:, 1:] = _clean(objective(simplex[:, 1:, :], every))
    active = every[np.isfinite(start.value)]
    for _ in range(iterations):
        sx, sf = simplex[active], fs[active]
        order = np.argsort(sf, axis=1, kind="stable")
        sx = np.take_along_axis(sx, order[:, :, None], axis=1)
        sf = np.take_along_axis(sf, order, axis=1)
        open_rows = sf[:, -1] - sf[:, 0] > tolerance
        simplex[active], fs[active] = sx, sf
        active, sx, sf = active[open_rows], sx[open_rows], sf[open_rows]
        if active.size == 0:
            break
        local = np.arange(active.size)
        best, worst = sx[:, 0, :], sx[:, -1, :]
        centre = sx[:, :-1, :].mean(axis=1)
        moves = np.stack(
            [
                centre + (centre - worst),  # reflect
                centre + 2.0 * (centre - worst),  # expand
                centre + 0.5 * (centre - worst),  # contract outside
                centre - 0.5 * (centre - worst),  # contract inside
            ],
            axis=1,
        )
        shrunk = best[:, None, :] + 0.5 * (sx[:, 1:, :] - best[:, None, :])
        trial = np.clip(np.concatenate([moves, shrunk], axis=1), lower, upper)
        ft = _clean(objective(trial, active))
        fr, fe, fo, fi = ft[:, 0], ft[:, 1], ft[:, 2], ft[:, 3]
        f_best, f_second, f_worst = sf[:, 0], sf[:, -2], sf[:, -1]
        expand = (fr < f_best) & (fe < fr)
        reflect = ((fr < f_best) & ~expand) | ((fr >= f_best) & (fr < f_second))
        outside = ~expand & ~reflect & (fr < f_worst) & (fo <= fr)
        inside = ~expand & ~reflect & (fr >= f_worst) & (fi < f_worst)
        shrink = ~(expand | reflect | outside | inside)
        pick = np.select([expand, reflect, outside], [1, 0, 2], 3)
        keep = ~shrink
        sx[keep, -1, :] = trial[local[keep], pick[keep], :]
        sf[keep, -1] = ft[local[keep], pick[keep]]
        sx[shrink, 1:, :] = trial[shrink, 4:, :]
        sf[shrink, 1:] = ft[shrink, 4:]
        simplex[active], fs[active] = sx, sf
    j = np.argmin(fs, axis=1)
    fx = fs[every, j]
    better = fx < start.value
    x = np.where(better[:, None], simplex[every, j, :], x0)
    return BoxOptimum(x=x, value=np.where(better, fx, start.value))
