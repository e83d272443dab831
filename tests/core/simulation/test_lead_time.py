"""Integer lead times with a given mean and sd (fit_lead_time, after Adan et al. 1995).

The fit must reproduce the two moments the policy engine's lead-time demand uses (exactly,
from the fitted parameters, and in distribution, from draws), keep a fixed lead time
``round(mean)`` for sd 0, respect the integer variance bound f (1 - f) and draw
reproducibly through the simulators' sampler protocol.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.core.simulation.lead_time import (
    BINOMIAL_MIXTURE,
    FIXED,
    NEGATIVE_BINOMIAL,
    POISSON,
    fit_lead_time,
)
from stockpilot.core.simulation.single_echelon import simulate_single_echelon
from stockpilot.errors import InvalidParameterError

means = st.floats(min_value=0.05, max_value=40.0, allow_nan=False, allow_subnormal=False)
sds = st.floats(min_value=0.0, max_value=12.0, allow_nan=False, allow_subnormal=False)


def _target_variance(mean: float, sd: float) -> float:
    frac = mean - np.floor(mean)
    return max(sd**2, frac * (1.0 - frac)) if sd > 0 else 0.0


@settings(max_examples=300, deadline=None)
@given(mean=means, sd=sds)
def test_fitted_moments_are_the_mean_and_variance_asked_for(mean: float, sd: float) -> None:
    """Exact moments from the parameters: mean kept, variance sd^2 (raised to the bound)."""
    dist = fit_lead_time([mean], [sd])
    got_mean, got_var = dist.moments()
    if sd == 0:
        assert dist.family[0] == FIXED and got_mean[0] == np.round(mean) and got_var[0] == 0
        return
    assert got_mean[0] == pytest.approx(mean, rel=1e-9, abs=1e-9)
    assert got_var[0] == pytest.approx(_target_variance(mean, sd), rel=1e-7, abs=1e-9)
    assert 0.0 <= dist.weight[0] <= 1.0 and 0.0 <= dist.probability[0] <= 1.0


@settings(max_examples=40, deadline=None)
@given(mean=means, sd=st.floats(min_value=0.05, max_value=6.0), seed=st.integers(0, 2**32 - 1))
def test_draws_are_non_negative_integers_with_the_fitted_mean_and_sd(
    mean: float, sd: float, seed: int
) -> None:
    """Sample mean within 5 standard errors of the target; sample variance within 5 of
    its standard error (from the sample's fourth central moment)."""
    n = 40_000
    draws = fit_lead_time([mean], [sd])(np.random.default_rng(seed), (1, n))[0]
    assert draws.dtype == np.int64 and draws.min() >= 0
    var = _target_variance(mean, sd)
    assert abs(draws.mean() - mean) <= 5.0 * np.sqrt(var / n) + 1e-12
    if var > 10.0 * max(mean, 1.0):
        # a law this dispersed (mean 0.0625, sd 4: almost every draw 0, a rare large one)
        # shows its variance only in tails 40,000 draws rarely reach, and the sample's
        # fourth moment understates the standard error; the exact moments are tested above
        return
    centred = draws - draws.mean()
    var_se = np.sqrt(max(np.mean(centred**4) - var**2, 0.0) / n)
    assert abs(draws.var() - var) <= 5.0 * var_se + 1e-9


@pytest.mark.parametrize(
    ("mean", "sd", "family"),
    [
        (4.0, 1.0, BINOMIAL_MIXTURE),  # less variable than Poisson: Var < mean
        (4.0, 2.0, POISSON),  # Var = mean
        (4.0, 3.0, NEGATIVE_BINOMIAL),  # Var > mean
        (2.5, 0.1, BINOMIAL_MIXTURE),  # below the integer bound: the two points 2 and 3
        (3.0, 0.0, FIXED),
    ],
)
def test_family_follows_the_dispersion(mean: float, sd: float, family: int) -> None:
    assert fit_lead_time([mean], [sd]).family[0] == family


def test_below_the_integer_bound_the_lead_time_takes_the_two_nearest_values() -> None:
    """Mean 2.5 with sd 0.1: no integer distribution has a variance under 0.25, which the
    two points 2 and 3 (half each) reach."""
    draws = fit_lead_time([2.5], [0.1])(np.random.default_rng(0), (1, 20_000))[0]
    assert set(np.unique(draws).tolist()) == {2, 3}
    assert draws.mean() == pytest.approx(2.5, abs=0.02)


def test_sd_zero_is_the_rounded_lead_time_and_draws_nothing() -> None:
    dist = fit_lead_time([2.4, 2.5, 3.5, 0.0], [0.0, 0.0, 0.0, 1.0])  # mean 0 cannot vary
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    out = dist(rng, (4, 6))
    assert out.tolist() == [[2] * 6, [2] * 6, [4] * 6, [0] * 6]  # half to even, as np.round
    assert rng.bit_generator.state == state  # the simulators' other draws are unchanged


def test_sampler_serves_network_shapes_and_is_seeded() -> None:
    """(N, K) parameters and (N, K, T) draws, the protocol of simulate_network; a stage
    with sd 0 keeps its fixed time."""
    dist = fit_lead_time(np.array([[3.0, 1.0], [5.0, 1.0]]), np.array([[1.5, 0.0], [2.0, 0.0]]))
    a = dist(np.random.default_rng(8), (2, 2, 50))
    b = dist(np.random.default_rng(8), (2, 2, 50))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 2, 50) and np.all(a[:, 1] == 1) and a[:, 0].std() > 0
    with pytest.raises(InvalidParameterError, match="size"):
        dist(np.random.default_rng(8), (3, 2, 50))


def test_invalid_moments_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="finite and >= 0"):
        fit_lead_time([1.0, -1.0], [0.5, 0.5])


def test_single_echelon_takes_the_fit_as_its_lead_time_sampler() -> None:
    """Base stock S = 60 on demand 10 per period: with lead time 4 fixed it never runs out;
    with lead times of mean 4 and sd 2 it does, and a fixed seed repeats the run."""
    demand = np.full((1, 300), 10.0)
    fixed = simulate_single_echelon(demand, policy="base_stock", order_up_to=60.0, lead_time=4)
    random_lt = fit_lead_time([4.0], [2.0])
    runs = [
        simulate_single_echelon(
            demand, policy="base_stock", order_up_to=60.0, lead_time=random_lt, seed=5
        )
        for _ in range(2)
    ]
    assert fixed.fill_rate[0] == 1.0
    assert runs[0].fill_rate[0] < 0.99
    assert runs[0].fill_rate[0] == runs[1].fill_rate[0]
