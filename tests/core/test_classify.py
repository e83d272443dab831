"""Classification: ABC, multi-criteria ABC, XYZ, Syntetos-Boylan-Croston and lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stockpilot.core.classify import (
    ClassificationConfig,
    abc_classify,
    abc_multi_criteria,
    aggregate_rows,
    classify,
    demand_pattern,
    lifecycle_stage,
    xyz_classify,
)
from stockpilot.errors import InvalidDataError, InvalidParameterError


def test_abc_hand_computed_pareto_80_15_5() -> None:
    """Hand-computed: values 50/30/10/6/4 have shares before them 0, .5, .8, .9, .96.

    Class A while the cumulative share before the item is below 0.80, B below 0.95
    (the convention of Silver, Pyke and Thomas 2017, sec. 2.4: the item that crosses a
    cut-off belongs to the higher class). No published figures were at hand.
    """
    r = abc_classify([6.0, 50.0, 4.0, 30.0, 10.0], cutoffs=(0.8, 0.95))
    assert r.classes.tolist() == ["B", "A", "C", "A", "B"]
    assert r.rank.tolist() == [4, 1, 5, 2, 3]
    np.testing.assert_allclose(r.cumulative_share, [0.96, 0.5, 1.0, 0.8, 0.9])


def test_abc_all_zero_is_class_c_and_bad_cutoffs_rejected() -> None:
    assert abc_classify([0.0, 0.0]).classes.tolist() == ["C", "C"]
    with pytest.raises(InvalidParameterError, match="'cutoffs' parameter of abc_classify"):
        abc_classify([1.0], cutoffs=(0.9, 0.8))
    with pytest.raises(InvalidDataError):
        abc_classify([1.0, -2.0])


def test_abc_multi_criteria_weights_shares() -> None:
    # value shares .9/.1, lines shares .1/.9; weights .75/.25 -> scores .7/.3
    r = abc_multi_criteria(
        {"value": [900.0, 100.0], "lines": [1.0, 9.0]},
        weights={"value": 3.0, "lines": 1.0},
        cutoffs=(0.6, 0.9),
    )
    np.testing.assert_allclose(r.score, [0.7, 0.3])
    assert r.classes.tolist() == ["A", "B"]
    with pytest.raises(InvalidParameterError, match="Missing"):
        abc_multi_criteria({"value": [1.0]}, weights={"margin": 1.0})


def test_xyz_cv_hand_computed() -> None:
    y = np.array([[10.0, 10.0, 10.0, 10.0], [5.0, 15.0, 5.0, 15.0], [np.nan, 0.0, 0.0, 12.0]])
    r = xyz_classify(y, cutoffs=(0.5, 1.0))
    # row 1: mean 10, sd (ddof 1) = sqrt(100/3) = 5.774 -> cv 0.577 -> Y
    np.testing.assert_allclose(r.cv[:2], [0.0, np.sqrt(100 / 3) / 10])
    # row 2 ignores the leading NaN: mean 4, sd = sqrt((16+16+64)/2) = 6.93 -> cv 1.73 -> Z
    np.testing.assert_allclose(r.cv[2], np.sqrt(48.0) / 4)
    assert r.classes.tolist() == ["X", "Y", "Z"]


def test_syntetos_boylan_croston_2005_cutoffs() -> None:
    """Syntetos, Boylan and Croston (2005): ADI cut-off 1.32, CV^2 cut-off 0.49.

    Hand-built series on either side of each cut-off.
    """
    smooth = [4.0, 5.0, 6.0, 5.0]  # ADI 1, CV^2 = 0.5/25 = 0.02
    erratic = [1.0, 9.0, 1.0, 9.0]  # ADI 1, CV^2 = 16/25 = 0.64
    intermittent = [0.0, 5.0, 0.0, 5.0]  # ADI 2, CV^2 0
    lumpy = [0.0, 1.0, 0.0, 9.0]  # ADI 2, CV^2 0.64
    none = [0.0, 0.0, 0.0, 0.0]
    r = demand_pattern([smooth, erratic, intermittent, lumpy, none])
    assert r.patterns.tolist() == ["smooth", "erratic", "intermittent", "lumpy", "no_demand"]
    np.testing.assert_allclose(r.adi[:4], [1.0, 1.0, 2.0, 2.0])
    np.testing.assert_allclose(r.cv2[:4], [0.02, 0.64, 0.0, 0.64])
    # exactly at the cut-offs the higher class applies (>=)
    above_adi = np.array([[0.0] * 11 + [1.0] * 33])  # 44 obs / 33 demands = 1.333 >= 1.32
    assert demand_pattern(above_adi).patterns.tolist() == ["intermittent"]
    below_adi = np.array([[0.0] * 10 + [1.0] * 33])  # 43 / 33 = 1.303 < 1.32
    assert demand_pattern(below_adi).patterns.tolist() == ["smooth"]
    r2 = demand_pattern([[3.0] * 4], adi_cutoff=1.0)
    assert r2.patterns.tolist() == ["intermittent"]


def test_lifecycle_rules_and_flags() -> None:
    cfg = ClassificationConfig(new_periods=4, trend_window=3, end_of_life_periods=4)
    y = np.array(
        [
            [np.nan] * 7 + [3.0, 4.0, 5.0],  # 3 observed -> new
            [2.0, 2, 2, 2, 2, 2, 2, 5, 5, 5],  # growth
            [5.0, 5, 5, 5, 5, 5, 5, 1, 1, 1],  # decline
            [3.0, 3, 3, 3, 3, 3, 3, 3, 3, 3],  # mature
            [3.0, 3, 3, 3, 3, 3, 0, 0, 0, 0],  # end of life: no demand in last 4
            [3.0, 3, 3, 3, 3, 3, 3, 3, 3, 3],  # flagged
        ]
    )
    flags = [False, False, False, False, False, True]
    got = lifecycle_stage(y, config=cfg, end_of_life_flag=flags)
    assert got.tolist() == ["new", "growth", "decline", "mature", "end_of_life", "end_of_life"]


def test_aggregate_rows_per_item_across_locations() -> None:
    y = np.array([[np.nan, 1.0, 2.0], [3.0, 0.0, 1.0], [np.nan, np.nan, 7.0]])
    labels, tot = aggregate_rows(y, ["A", "A", "B"])
    assert labels.tolist() == ["A", "B"]
    np.testing.assert_array_equal(tot, [[3.0, 1.0, 3.0], [np.nan, np.nan, 7.0]])


def test_classify_uses_annual_value_and_config_version() -> None:
    y = np.array([[10.0] * 12, [1.0] * 12, [0.0] * 11 + [1.0]])
    cfg = ClassificationConfig(version=3, abc_cutoffs=(0.8, 0.95))
    c = classify(y, config=cfg, unit_value=[1.0, 5.0, 1.0])
    # annual values 120, 60, 1 -> shares .596, .299, .005
    assert c.abc.classes.tolist() == ["A", "A", "C"]
    assert c.xyz.classes.tolist() == ["X", "X", "Z"]
    assert c.pattern.patterns.tolist() == ["smooth", "smooth", "intermittent"]
    assert c.config_version == 3
    assert c.history_length.tolist() == [12, 12, 12]


def test_config_roundtrip_and_approval() -> None:
    cfg = ClassificationConfig(abc_criteria={"annual_value": 0.7, "order_lines": 0.3})
    assert not cfg.is_approved
    when = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    approved = cfg.approve("finance.lead", at=when)
    assert approved.is_approved and approved.approved_at == when
    back = ClassificationConfig.from_dict(approved.to_dict())
    assert back == approved
    nxt = approved.next_version(abc_cutoffs=(0.7, 0.9))
    assert nxt.version == 2 and not nxt.is_approved and nxt.abc_cutoffs == (0.7, 0.9)
    with pytest.raises(InvalidParameterError, match="abc_cutof"):
        ClassificationConfig.from_dict({"abc_cutof": [0.8, 0.9]})
    with pytest.raises(InvalidParameterError, match="timezone-aware"):
        ClassificationConfig(approved_by="x", approved_at=datetime(2026, 1, 1))


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 8), st.integers(2, 15)),
        elements=st.integers(0, 20).map(float),
    ),
    st.integers(0, 1000),
)
def test_classes_independent_of_series_order(y: np.ndarray, seed: int) -> None:
    perm = np.random.default_rng(seed).permutation(y.shape[0])
    a = classify(y)
    b = classify(y[perm])
    assert b.pattern.patterns.tolist() == a.pattern.patterns[perm].tolist()
    assert b.xyz.classes.tolist() == a.xyz.classes[perm].tolist()
    assert b.lifecycle.tolist() == a.lifecycle[perm].tolist()
    # ABC can differ only among exact ties of the score
    sa = a.abc.score[perm]
    untied = np.array([np.sum(sa == s) == 1 for s in sa])
    assert (b.abc.classes[untied] == a.abc.classes[perm][untied]).all()


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64,
        (5, 12),
        elements=st.one_of(st.floats(0, 100), st.just(0.0), st.just(np.nan)),
    )
)
def test_cv_and_pattern_moments_match_the_numpy_formulas(y: np.ndarray) -> None:
    observed = ~np.isnan(y)
    n_obs = observed.sum(axis=1)
    pos = np.nan_to_num(y) > 0
    n_dem = pos.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(y, axis=1) / np.maximum(n_obs, 1)
        dev = np.where(observed, y - mean[:, None], 0.0)
        sd = np.sqrt((dev**2).sum(axis=1) / np.maximum(n_obs - 1, 1))
        # no sample sd from fewer than two periods: CV unknown
        cv = np.where(n_obs < 2, np.nan, np.where(mean > 0, sd / mean, np.inf))
        size = np.where(pos, y, 0.0).sum(axis=1) / np.maximum(n_dem, 1)
        var = np.where(pos, (y - size[:, None]) ** 2, 0.0).sum(axis=1) / np.maximum(n_dem, 1)
        cv2 = np.where(size > 0, var / size**2, np.nan)
    np.testing.assert_allclose(xyz_classify(y).cv, cv, rtol=1e-9, atol=1e-12)
    got = demand_pattern(y)
    np.testing.assert_allclose(got.cv2, cv2, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(got.n_demands, n_dem)
