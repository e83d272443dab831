"""Error sums of the rolling origins, per series and candidate, added in place by one
compiled pass per (origin, candidate).

The selection (:mod:`.selection`) scores every candidate of a group at every rolling
origin; these sums give its mean squared and absolute errors, its bias and the squared
error per step of the horizon (the horizon profile of the spread).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from stockpilot.core.forecast.base import FloatArray


@dataclass(frozen=True)
class OriginErrors:
    """Sums over the scored cells (forecast and actual both known) of ``n`` series and
    ``k`` candidates, ``steps`` periods after each origin.

    Attributes
    ----------
    squared, absolute, signed, count
        (n, k) sums of e^2, |e|, e = forecast - actual, and the number of cells.
    squared_step, count_step
        (n, k, steps) the same for e^2 and the count, per step after the origin.
    """

    squared: FloatArray
    absolute: FloatArray
    signed: FloatArray
    count: FloatArray
    squared_step: FloatArray
    count_step: FloatArray

    @classmethod
    def zeros(cls, n: int, k: int, steps: int) -> OriginErrors:
        """Empty sums."""
        return cls(
            squared=np.zeros((n, k)),
            absolute=np.zeros((n, k)),
            signed=np.zeros((n, k)),
            count=np.zeros((n, k)),
            squared_step=np.zeros((n, k, steps)),
            count_step=np.zeros((n, k, steps)),
        )

    def add(
        self, j: int, rows: NDArray[np.bool_], forecast: FloatArray, actual: FloatArray
    ) -> None:
        """Add candidate ``j``'s errors at one origin: ``forecast`` and ``actual`` hold the
        series ``rows`` (a mask over the n series) in order; forecast steps beyond the
        actuals are ignored."""
        _add_errors(
            np.ascontiguousarray(forecast, dtype=np.float64),
            np.ascontiguousarray(actual, dtype=np.float64),
            np.flatnonzero(rows),
            int(j),
            self.squared,
            self.absolute,
            self.signed,
            self.count,
            self.squared_step,
            self.count_step,
        )

    def means(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(n, k) mean squared error, mean absolute error and mean error (NaN where no
        cell was scored)."""
        scored = self.count > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            return tuple(  # type: ignore[return-value]
                np.where(scored, s / self.count, np.nan)
                for s in (self.squared, self.absolute, self.signed)
            )


@numba.njit(cache=True)
def _add_errors(  # noqa: PLR0917 (numba has no keyword-only parameters)
    forecast: FloatArray,
    actual: FloatArray,
    at: NDArray[np.intp],
    j: int,
    squared: FloatArray,
    absolute: FloatArray,
    signed: FloatArray,
    count: FloatArray,
    squared_step: FloatArray,
    count_step: FloatArray,
) -> None:
    steps = min(forecast.shape[1], actual.shape[1])
    for r in range(at.shape[0]):
        i = at[r]
        for s in range(steps):
            e = forecast[r, s] - actual[r, s]
            if np.isnan(e):
                continue
            e2 = e * e
            squared[i, j] += e2
            absolute[i, j] += abs(e)
            signed[i, j] += e
            count[i, j] += 1.0
            squared_step[i, j, s] += e2
            count_step[i, j, s] += 1.0
