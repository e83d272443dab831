"""Learned spread (core/forecast/spread.py): the grid choice against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from stockpilot.core.forecast import spread
from stockpilot.core.forecast.spread import GROWTH_GRID, SPREAD_GRID, SPREAD_LEVELS, learn_spread


def _origins(rng: np.random.Generator, n: int, steps: int) -> list[spread.OriginRecord]:
    """Two origins, two candidate columns, gamma demand around a noisy forecast."""
    kept: list[spread.OriginRecord] = []
    for _ in range(2):
        ok_rows = np.ones(n, dtype=bool)
        level = rng.uniform(1.0, 20.0, n)
        actual = rng.gamma(2.0, level[:, None] / 2.0, (n, steps))
        fcs = {
            j: (level[:, None] * rng.uniform(0.7, 1.3, (n, 1)) * np.ones(steps), 0.6 * level)
            for j in range(2)
        }
        kept.append((ok_rows, actual, fcs))
    return kept


def _brute_force(
    kept: list[spread.OriginRecord], win: np.ndarray, scale: np.ndarray, steps: int
) -> tuple[float, float]:
    """Mean over series of (pinball loss summed over both levels / scored values / scale),
    for every (c, g) on the grids, written out as plainly as possible."""
    best, best_cg = np.inf, (np.nan, np.nan)
    for c in SPREAD_GRID:
        for g in GROWTH_GRID:
            per_series = []
            for i in range(win.size):
                total, count = 0.0, 0
                for _, actual, fcs in kept:
                    mu, sd = fcs[int(win[i])]
                    for s in range(steps):
                        count += 1
                        for tau in SPREAD_LEVELS:
                            q = max(mu[i, s] + norm.ppf(tau) * c * sd[i] * np.sqrt(1 + g * s), 0)
                            d = actual[i, s] - q
                            total += tau * d if d >= 0 else (tau - 1) * d
                per_series.append(total / count / scale[i])
            loss = float(np.mean(per_series))
            if loss < best - 1e-12:
                best, best_cg = loss, (float(c), float(g))
    return best_cg


def _learned_on_random_origins(
    seed: int, n: int, steps: int
) -> tuple[list[spread.OriginRecord], np.ndarray, np.ndarray, tuple[float, float] | None]:
    """Random origins, winners and scales for ``n`` series, and the (c, g) learned on them."""
    rng = np.random.default_rng(seed)
    kept = _origins(rng, n, steps)
    win = rng.integers(0, 2, n)
    scale = rng.uniform(0.5, 5.0, n)
    return kept, win, scale, learn_spread(kept, win, np.ones(n, dtype=bool), scale, eval_h=steps)


@pytest.mark.parametrize("seed", [0, 1])
def test_learned_spread_is_the_brute_force_grid_optimum(seed: int) -> None:
    steps = 4
    kept, win, scale, got = _learned_on_random_origins(seed, 25, steps)
    assert got == pytest.approx(_brute_force(kept, win, scale, steps))
    assert got == pytest.approx(_brute_force_numpy(kept, win, scale, steps))


def _brute_force_numpy(
    kept: list[spread.OriginRecord],
    win: np.ndarray,
    scale: np.ndarray,
    steps: int,
    *,
    partner: np.ndarray | None = None,
    weight: float = 0.0,
) -> tuple[float, float]:
    """The same objective as ``_brute_force``, vectorised over series and steps; rows with
    a ``partner`` column forecast (1 - weight) x their winner's + weight x the partner's."""
    losses = {}
    for c in SPREAD_GRID:
        for g in GROWTH_GRID:
            total = np.zeros(win.size)
            for _, actual, fcs in kept:
                mu = np.where(win[:, None] == 0, fcs[0][0], fcs[1][0])
                if partner is not None:
                    mate = np.where(partner[:, None] == 0, fcs[0][0], fcs[1][0])
                    mu = np.where(partner[:, None] >= 0, (1 - weight) * mu + weight * mate, mu)
                sd = np.where(win == 0, fcs[0][1], fcs[1][1])
                for tau in SPREAD_LEVELS:
                    q = mu + norm.ppf(tau) * c * sd[:, None] * np.sqrt(1 + g * np.arange(steps))
                    d = actual - np.maximum(q, 0.0)
                    total += np.where(d >= 0, tau * d, (tau - 1) * d).sum(axis=1)
            losses[(float(c), float(g))] = float(np.mean(total / (len(kept) * steps) / scale))
    return min(losses, key=lambda k: losses[k])


def test_a_large_unit_is_scored_on_every_series() -> None:
    """600 series (more than the 400 the choice was once limited to): the learned (c, g)
    is the optimum over all of them."""
    steps = 3
    # seed 3: a 400-series sample chooses (1.2, 0.2) here
    kept, win, scale, got = _learned_on_random_origins(3, 600, steps)
    assert got == pytest.approx(_brute_force_numpy(kept, win, scale, steps))


def test_shrunk_forecasts_are_scored_as_blends() -> None:
    """Rows shrunk toward a partner column (the group-best) are scored with the blended
    forecast the selection will issue."""
    rng = np.random.default_rng(5)
    n, steps = 200, 3
    kept = _origins(rng, n, steps)
    win = np.zeros(n, dtype=np.int64)
    partner = np.where(rng.random(n) < 0.8, 1, -1)
    scale = rng.uniform(0.5, 5.0, n)
    tested = np.ones(n, dtype=bool)
    got = learn_spread(kept, win, tested, scale, eval_h=steps, partner=partner, partner_weight=0.5)
    assert got == pytest.approx(
        _brute_force_numpy(kept, win, scale, steps, partner=partner, weight=0.5)
    )
    assert got != learn_spread(kept, win, tested, scale, eval_h=steps)


def test_active_demand_stops_at_the_last_demand_and_weights_from_it() -> None:
    """RMS and share of positive demand from the first observation to the last demand; the
    weights halve every ``half_life`` periods back from that last demand."""
    y = np.array(
        [
            [np.nan, 2.0, 0.0, 4.0, 0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        ]
    )
    plain = spread.active_demand(y, None)
    np.testing.assert_allclose(plain.rms[:2], [np.sqrt(20.0 / 3.0), 1.0])
    np.testing.assert_allclose(plain.share[:2], [2.0 / 3.0, 1.0])
    assert np.isnan(plain.rms[2]) and np.isnan(plain.share[2])
    weighted = spread.active_demand(y, 1.0)  # weights 0.25, 0.5, 1 on periods 1-3
    np.testing.assert_allclose(weighted.rms[0], np.sqrt((0.25 * 4.0 + 16.0) / 1.75))
    np.testing.assert_allclose(weighted.share, plain.share)
