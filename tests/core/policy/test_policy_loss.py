"""Loss functions against tables, closed forms and brute-force sums."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from stockpilot.core.policy.loss import (
    gamma_loss,
    negative_binomial_loss,
    normal_loss,
    poisson_loss,
    poisson_second_order_loss,
    standard_normal_loss,
    standard_normal_loss_inverse,
    standard_normal_second_order_loss,
)


def test_silver_pyke_thomas_2017_appendix_iii_table_values() -> None:
    """G_u(k) at k = 0, 0.5, 1, 2, 3 as tabulated (Silver, Pyke & Thomas 2017, App. III)."""
    k = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
    expected = np.array([0.3989, 0.1978, 0.0833, 0.008491, 0.0003822])
    np.testing.assert_allclose(standard_normal_loss(k), expected, rtol=2e-3)


def test_standard_normal_loss_matches_numerical_integral() -> None:
    for z in (-2.0, 0.3, 1.7):
        value, _ = integrate.quad(lambda u, z=z: (u - z) * stats.norm.pdf(u), z, np.inf)
        assert standard_normal_loss(z) == pytest.approx(value, rel=1e-8)
        g2, _ = integrate.quad(lambda u: float(standard_normal_loss(u)), z, np.inf)
        assert standard_normal_second_order_loss(z) == pytest.approx(g2, rel=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=-6.0, max_value=6.0))
def test_standard_normal_loss_inverse_round_trip(z: float) -> None:
    assert standard_normal_loss_inverse(standard_normal_loss(z)) == pytest.approx(z, abs=1e-7)


def test_normal_loss_scales_and_handles_zero_sd() -> None:
    assert normal_loss(110.0, 100.0, 20.0) == pytest.approx(20 * standard_normal_loss(0.5))
    np.testing.assert_allclose(normal_loss([90.0, 110.0], 100.0, 0.0), [10.0, 0.0])


def _brute(pmf: np.ndarray, x: int) -> tuple[float, float]:
    k = np.arange(pmf.shape[0])
    first = float(np.sum(np.maximum(k - x, 0) * pmf))
    second = float(np.sum(np.maximum(k - x, 0) * np.maximum(k - x - 1, 0) * pmf)) / 2
    return first, second


@pytest.mark.parametrize("mean", [0.3, 2.5, 12.0])
def test_poisson_loss_against_brute_force(mean: float) -> None:
    pmf = stats.poisson.pmf(np.arange(400), mean)
    for x in range(0, int(mean * 3) + 3):
        first, second = _brute(pmf, x)
        assert poisson_loss(x, mean) == pytest.approx(first, abs=1e-10)
        assert poisson_second_order_loss(x, mean) == pytest.approx(second, abs=1e-9)
    assert poisson_loss(-2, mean) == pytest.approx(mean + 2)


def test_negative_binomial_loss_against_brute_force() -> None:
    size, prob = 1.7, 0.3
    pmf = stats.nbinom.pmf(np.arange(2000), size, prob)
    for x in range(15):
        assert negative_binomial_loss(x, size, prob) == pytest.approx(_brute(pmf, x)[0], abs=1e-9)


def test_gamma_loss_against_numerical_integral() -> None:
    shape, scale = 2.3, 4.0
    for x in (0.0, 3.0, 15.0):
        value, _ = integrate.quad(
            lambda u, x=x: (u - x) * stats.gamma.pdf(u, shape, scale=scale), x, np.inf
        )
        assert gamma_loss(x, shape, scale) == pytest.approx(value, rel=1e-7)
    assert gamma_loss(-1.0, shape, scale) == pytest.approx(shape * scale + 1.0)
