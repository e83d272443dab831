"""Service targets and cost-optimal service levels."""

from __future__ import annotations

import numpy as np
import pytest

from stockpilot.core.policy.loss import standard_normal_loss
from stockpilot.core.policy.service import (
    cost_optimal_service_base_stock,
    cost_optimal_service_s_q,
    safety_factor_cycle_service,
    safety_factor_fill_rate_normal,
)
from stockpilot.errors import InvalidParameterError


def test_silver_pyke_thomas_2017_cycle_service_safety_factors() -> None:
    """k for P1 = 0.90, 0.95, 0.99: 1.28, 1.645, 2.33 (SPT 2017, Table in App. III)."""
    np.testing.assert_allclose(
        safety_factor_cycle_service([0.90, 0.95, 0.99]), [1.2816, 1.6449, 2.3263], atol=1e-4
    )


def test_silver_pyke_thomas_2017_eq_6_19_fill_rate_hand_computed() -> None:
    """Hand computation of eq. 6.19: Q = 100, sigma_L = 20, P2 = 0.99 -> G(k) = 0.05.

    Not a worked example of the book (its figures were not available to us): the table of
    G_u(k) gives k between 1.25 (0.0506) and 1.26 (0.0493), i.e. 1.256.
    """
    k = float(safety_factor_fill_rate_normal(0.99, 100.0, 20.0)[()])
    assert k == pytest.approx(1.256, abs=1e-3)
    assert standard_normal_loss(k) == pytest.approx(0.05, rel=1e-9)


def test_fill_rate_without_variability_needs_no_safety_factor() -> None:
    assert safety_factor_fill_rate_normal(0.95, 10.0, 0.0) == 0.0


def test_service_target_is_validated_with_a_clear_message() -> None:
    with pytest.raises(InvalidParameterError, match=r"'service_target'.*\(0, 1\). Got 1.5"):
        safety_factor_cycle_service(1.5)


def test_snyder_shen_2019_example_4_1_critical_ratio() -> None:
    """h = 0.18, p = 0.70: critical ratio 0.70 / 0.88 = 0.7955 (Snyder & Shen, Ex. 4.1)."""
    assert cost_optimal_service_base_stock(0.18, 0.70) == pytest.approx(0.70 / 0.88)


def test_nahmias_2009_hadley_whitin_service_conditions() -> None:
    """1 - F(R) = Qh / (p lambda) (backorders) and Qh / (Qh + p lambda) (lost sales).

    Hand computation with Q = 300, h = 0.225, p = 7.5, lambda = 1300.
    """
    tail_b = 300 * 0.225 / (7.5 * 1300)
    tail_l = 300 * 0.225 / (300 * 0.225 + 7.5 * 1300)
    assert cost_optimal_service_s_q(0.225, 7.5, 300, 1300) == pytest.approx(1 - tail_b)
    lost = cost_optimal_service_s_q(0.225, 7.5, 300, 1300, stockout_model="lost_sales")
    assert lost == pytest.approx(1 - tail_l)
    with pytest.raises(InvalidParameterError, match="'backorder', 'lost_sales'"):
        cost_optimal_service_s_q(0.225, 7.5, 300, 1300, stockout_model="lost")
