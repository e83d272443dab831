"""Push/pull rule: hand-computed cases of the documented rule and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.core.push_pull import SupplyStrategy, choose_push_pull
from stockpilot.errors import InvalidParameterError


def test_documented_rule_hand_computed_cases() -> None:
    """Hand-computed, lead time 4 periods (stages 2, 1, 1), service 0.95 (z = 1.645):
    a) tolerance 6, sd 1 -> 4 + 1.645 = 5.645 <= 6: pull;
    b) tolerance 5, sd 1 -> 5.645 > 5, CV 0.3, LT CV 0.25: push, stock at the last stage;
    c) CV 1.2, service 0.7 -> pull (unpredictable, low target);
    d) CV 1.2, service 0.95, tolerance 2 -> push-pull after stage 0 (downstream 1 + 1 = 2);
    e) CV 0.3 but LT CV 0.5 (sd 2), tolerance 0 -> push-pull at the last stage."""
    r = choose_push_pull(
        lead_time=4,
        lead_time_sd=[1, 1, 0, 0, 2],
        demand_cv=[0.3, 0.3, 1.2, 1.2, 0.3],
        service_target=[0.95, 0.95, 0.7, 0.95, 0.95],
        customer_tolerance=[6, 5, 0, 2, 0],
        stage_lead_times=np.tile([2.0, 1.0, 1.0], (5, 1)),
    )
    assert r.strategy == (
        SupplyStrategy.PULL,
        SupplyStrategy.PUSH,
        SupplyStrategy.PULL,
        SupplyStrategy.PUSH_PULL,
        SupplyStrategy.PUSH_PULL,
    )
    assert r.decoupling_stage.tolist() == [-1, 2, -1, 0, 2]
    np.testing.assert_allclose(r.buffered_lead_time, [0, 4, 0, 2, 4])
    np.testing.assert_allclose(r.customer_wait, [4, 0, 4, 2, 0])
    np.testing.assert_allclose(r.lead_time_cv, [0.25, 0.25, 0, 0, 0.5])
    assert "no stock needed" in r.reasons[0]
    assert "unreliable supply" in r.reasons[4]
    assert "unpredictable demand" in r.reasons[3]


def test_pattern_marks_demand_unpredictable() -> None:
    r = choose_push_pull(
        lead_time=[3, 3], demand_cv=[0.2, 0.2], service_target=0.9, pattern=["smooth", "lumpy"]
    )
    assert r.strategy == (SupplyStrategy.PUSH, SupplyStrategy.PUSH_PULL)
    with pytest.raises(InvalidParameterError, match="'pattern'"):
        choose_push_pull(lead_time=3, demand_cv=0.2, service_target=0.9, pattern=["weird"])
    with pytest.raises(InvalidParameterError, match="service_target"):
        choose_push_pull(lead_time=3, demand_cv=0.2, service_target=1.0)


@settings(max_examples=80, deadline=None)
@given(
    stages=st.lists(st.floats(0, 10), min_size=1, max_size=4),
    tol=st.floats(0, 30),
    more=st.floats(0, 30),
    cv=st.floats(0, 3),
    sd=st.floats(0, 5),
    svc=st.floats(0.5, 0.999),
)
def test_decoupling_invariants(
    *, stages: list[float], tol: float, more: float, cv: float, sd: float, svc: float
) -> None:
    st_arr = np.array([stages, stages])
    r = choose_push_pull(
        lead_time=0,
        lead_time_sd=sd,
        demand_cv=cv,
        service_target=svc,
        customer_tolerance=[tol, tol + more],
        stage_lead_times=st_arr,
    )
    for k in range(2):
        # the customer never waits longer than tolerated unless nothing is stocked
        if r.decoupling_stage[k] >= 0:
            assert r.customer_wait[k] <= [tol, tol + more][k] + 1e-9
            assert r.buffered_lead_time[k] + r.customer_wait[k] == pytest.approx(sum(stages))
    # more tolerance never moves the buffer downstream
    if r.decoupling_stage[0] >= 0 and r.decoupling_stage[1] >= 0:
        assert r.decoupling_stage[1] <= r.decoupling_stage[0]
    # more tolerance never turns a pull into stock
    if r.strategy[0] is SupplyStrategy.PULL:
        assert r.strategy[1] is SupplyStrategy.PULL
