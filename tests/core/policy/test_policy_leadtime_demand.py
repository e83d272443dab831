"""Lead-time demand: moments, family choice and the distribution methods."""

from __future__ import annotations

import numpy as np
import pytest

from stockpilot.core.policy.leadtime_demand import (
    DemandDistribution,
    choose_distribution,
    lead_time_demand,
)
from stockpilot.errors import InvalidParameterError


def test_silver_pyke_thomas_2017_eq_6_7_variable_lead_time_hand_computed() -> None:
    """sigma^2 = E(L) var(D) + E(D)^2 var(L), plus a review period R (hand computation).

    mu = 10, sigma = 2, L = 4, sigma_L = 1, R = 1: mean 50, variance 5 * 4 + 100 * 1 = 120.
    """
    ltd = lead_time_demand([10.0], [2.0], [4.0], lead_time_sd=[1.0], review_period=1.0)
    assert ltd.mean[0] == 50.0
    assert ltd.variance[0] == 120.0


def test_choice_rule_by_pattern() -> None:
    patterns = ["smooth", "smooth", "erratic", "intermittent", "intermittent", "lumpy", "lumpy"]
    mean = np.array([100.0, 10.0, 50.0, 2.0, 2.0, 3.0, 3.0])
    var = np.array([400.0, 100.0, 900.0, 1.5, 5.0, 20.0, 20.0])
    codes = choose_distribution(patterns, mean, var, has_history=True)
    names = [tuple(DemandDistribution)[c] for c in codes]
    assert names == [
        DemandDistribution.NORMAL,
        DemandDistribution.GAMMA,  # CV 1.0 > 0.5
        DemandDistribution.GAMMA,
        DemandDistribution.POISSON,
        DemandDistribution.NEGATIVE_BINOMIAL,
        DemandDistribution.EMPIRICAL,
        DemandDistribution.EMPIRICAL,
    ]
    no_hist = choose_distribution(["lumpy"], [3.0], [20.0], has_history=False)
    assert tuple(DemandDistribution)[no_hist[0]] is DemandDistribution.NEGATIVE_BINOMIAL
    with pytest.raises(InvalidParameterError, match="'pattern'"):
        choose_distribution(["weird"], [1.0], [1.0])


@pytest.mark.parametrize("family", ["normal", "gamma", "poisson", "negative_binomial"])
def test_quantile_cdf_and_loss_are_consistent(family: str) -> None:
    ltd = lead_time_demand([4.0, 20.0], [3.0, 9.0], [2.0, 3.0], distribution=family)
    q = ltd.quantile(0.9)
    assert np.all(ltd.cdf(q) >= 0.9 - 1e-9)
    if ltd.is_discrete().all():
        assert np.all(ltd.cdf(q - 1) < 0.9)
    # loss(-inf side) = mean - x, loss decreasing, zero far right.
    far_left = -5.0 - 12.0 * ltd.sd
    np.testing.assert_allclose(ltd.loss(far_left), ltd.mean - far_left, rtol=1e-6)
    assert np.all(ltd.loss(q) <= ltd.loss(q - 1.0) + 1e-12)
    assert np.all(ltd.loss(ltd.mean + 40 * ltd.sd) < 1e-6)


def test_empirical_bootstrap_reproduces_lead_time_sums() -> None:
    rng = np.random.default_rng(3)
    history = rng.poisson(2.0, size=(3, 300)).astype(float) * rng.integers(0, 2, size=(3, 300))
    history[2, :100] = np.nan  # launched later
    ltd = lead_time_demand(
        np.nanmean(history, axis=1),
        np.nanstd(history, axis=1),
        3.0,
        review_period=1.0,
        distribution="empirical",
        history=history,
        n_samples=4000,
        seed=1,
    )
    assert ltd.samples is not None
    np.testing.assert_allclose(ltd.mean, 4 * np.nanmean(history, axis=1), rtol=0.06)
    # Random lead time widens the distribution.
    wide = lead_time_demand(
        np.nanmean(history, axis=1),
        np.nanstd(history, axis=1),
        3.0,
        lead_time_sd=1.5,
        review_period=1.0,
        distribution="empirical",
        history=history,
        n_samples=4000,
        seed=1,
    )
    assert np.all(wide.variance > ltd.variance)
    again = lead_time_demand(
        np.nanmean(history, axis=1),
        np.nanstd(history, axis=1),
        3.0,
        review_period=1.0,
        distribution="empirical",
        history=history,
        n_samples=4000,
        seed=1,
    )
    np.testing.assert_array_equal(again.samples, ltd.samples)


def test_zero_mean_series_is_degenerate() -> None:
    ltd = lead_time_demand([0.0], [0.0], [2.0], distribution="gamma")
    assert ltd.families() == [DemandDistribution.ZERO]
    assert ltd.quantile(0.99)[0] == 0.0
    assert ltd.loss([0.0])[0] == 0.0


def test_bad_inputs_name_the_parameter() -> None:
    with pytest.raises(InvalidParameterError, match=r"'lead_time'.*non-negative"):
        lead_time_demand([1.0], [1.0], [-1.0])
    with pytest.raises(InvalidParameterError, match=r"'distribution'.*'normal'"):
        lead_time_demand([1.0], [1.0], [1.0], distribution="lognormal")


@pytest.mark.parametrize("family", ["normal", "gamma", "poisson", "negative_binomial"])
def test_second_order_loss_is_the_sum_or_integral_of_the_loss(family: str) -> None:
    """n2(x) = sum_{y > x} n(y) (discrete) or integral_x^inf n(y) dy (continuous)."""
    ltd = lead_time_demand([3.0, 12.0], [2.5, 6.0], [2.0, 1.0], distribution=family)
    for x in (-3.0, 0.0, 4.0, 9.0):
        level = np.full(2, x)
        if ltd.is_discrete().all():
            ys = np.arange(x + 1, x + 400)
            expected = np.array([ltd.loss(np.full(2, y)) for y in ys]).sum(axis=0)
        else:
            grid = np.linspace(x, x + 120, 1201)
            values = np.array([ltd.loss(np.full(2, y)) for y in grid])
            expected = np.trapezoid(values, grid, axis=0)
        np.testing.assert_allclose(ltd.second_order_loss(level), expected, rtol=1e-3, atol=1e-8)


def test_empirical_windows_keep_runs_of_demand() -> None:
    """Runs of 8 zero buckets and 8 buckets of 10: a 4-bucket window is empty with
    probability 5/16 (block bootstrap), against 1/16 if buckets were resampled
    independently (hand computed)."""
    history = np.tile(np.r_[np.zeros(8), np.full(8, 10.0)], 12)[None, :]
    ltd = lead_time_demand(
        [5.0],
        [5.0],
        [3.0],
        review_period=1.0,
        distribution="empirical",
        history=history,
        n_samples=20000,
        seed=2,
    )
    assert ltd.samples is not None and ltd.lead_samples is not None
    share_empty = float(np.mean(ltd.samples[0] == 0.0))
    assert share_empty == pytest.approx(5 / 16, abs=0.02)
    # Lead-time sums come from the same windows: never above the protection sums.
    assert np.all(ltd.lead_samples[0] <= ltd.samples[0])
