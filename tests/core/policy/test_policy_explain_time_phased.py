"""Explanations and time-phased (seasonal) order-up-to levels."""

from __future__ import annotations

import numpy as np
import pytest

from stockpilot.core.policy.explain import explain_policies
from stockpilot.core.policy.leadtime_demand import lead_time_demand
from stockpilot.core.policy.policies import r_s_service
from stockpilot.core.policy.time_phased import r_s_time_phased


def test_explanation_splits_the_variance_and_names_every_driver() -> None:
    """SPT eq. 6.7 shares, hand computed: (L + R) sigma^2 = 3 * 16 = 48 from demand and
    mu^2 sigma_L^2 = 100 from the lead time -> 48/148 and 100/148."""
    e = explain_policies(
        policy=["s_Q", "base_stock"],
        demand_mean=[10.0, 0.0],
        demand_sd=[4.0, 0.0],
        lead_time=[2.0, 1.0],
        lead_time_sd=[1.0, 0.0],
        review_period=[1.0, 1.0],
        order_quantity=[50.0, 0.0],
        lot_sizing_rule=["eoq", "lot_for_lot"],
        service_type=["fill_rate", "fill_rate"],
        service_target=[0.95, 0.95],
        safety_stock=[8.0, 0.0],
        distribution=["normal", "zero"],
        pattern=["smooth", "no_demand"],
        adjustments=["rounded to packs of 12", ""],
    )
    assert e.demand_variance_share[0] == pytest.approx(48 / 148)
    assert e.lead_time_variance_share[0] == pytest.approx(100 / 148)
    text = str(e.text[0])
    for fragment in (
        "demand 10/period",
        "lead time 2±1 periods",
        "68% of the risk",
        "reviewed every 1 period(s)",
        "lot size 50 (eoq)",
        "fill rate target 95.0%",
        "safety stock 8",
        "rounded to packs of 12",
    ):
        assert fragment in text
    assert "nothing is stocked" in str(e.text[1])


def test_time_phased_levels_equal_stationary_levels_on_flat_demand() -> None:
    mu = np.full((2, 6), 20.0)
    sd = np.full((2, 6), 5.0)
    phased = r_s_time_phased(mu, sd, [2.0, 1.0], review_period=1.0, service_target=0.95)
    flat = r_s_service(
        lead_time_demand([20.0, 20.0], [5.0, 5.0], [2.0, 1.0], review_period=1.0),
        [20.0, 20.0],
        0.95,
    )
    np.testing.assert_allclose(phased.order_up_to, np.repeat(flat.order_up_to[:, None], 6, 1))


def test_time_phased_levels_rise_a_lead_time_before_the_peak() -> None:
    mu = np.array([[10.0, 10, 10, 10, 40, 40, 10, 10]])
    phased = r_s_time_phased(mu, 0.3 * mu, 2.0, service_target=0.95)
    levels = phased.order_up_to[0]
    assert levels[2] > levels[0]  # window 2..4 already holds the peak
    assert levels.argmax() in (3, 4)
    assert np.all(phased.expected_fill_rate >= 0.95 - 1e-9)
