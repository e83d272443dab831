"""Recency-weighted residual sd (core/forecast/base.py) and its use by the selection."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stockpilot.core.forecast.base import ForecastModel, residual_sd, weighted_residual_sd
from stockpilot.core.forecast.selection import SelectionConfig, select_and_forecast
from stockpilot.errors import InvalidParameterError


def test_weighted_residual_sd_by_hand() -> None:
    """Errors 2, NaN, 4, 1 (periods 0-3), half-life 1: weights 1/8, -, 1/2, 1 for periods
    0, 2, 3: (4/8 + 16/2 + 1) / (1/8 + 1/2 + 1) = 9.5 / 1.625."""
    y = np.array([[12.0, np.nan, 14.0, 11.0]])
    f = np.array([[10.0, 10.0, 10.0, 10.0]])
    assert weighted_residual_sd(y, f, 1.0)[0] == pytest.approx(np.sqrt(9.5 / 1.625))
    # one error is too few
    assert np.isnan(weighted_residual_sd(y[:, :2], f[:, :2], 1.0)[0])
    with pytest.raises(ValueError):
        weighted_residual_sd(y, f, 0.0)


@settings(max_examples=50, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 4), st.integers(2, 40)), elements=st.floats(-50, 50)
    ),
    st.floats(0.5, 200.0),
)
def test_weighted_sd_between_the_errors_and_equal_when_flat(err: np.ndarray, hl: float) -> None:
    y, f = err, np.zeros_like(err)
    w = weighted_residual_sd(y, f, hl)
    a = np.abs(err)
    assert (w <= a.max(axis=1) * (1 + 1e-9) + 1e-12).all()
    assert (w >= a.min(axis=1) * (1 - 1e-9) - 1e-12).all()
    flat = np.full_like(err, 3.0)
    np.testing.assert_allclose(weighted_residual_sd(flat, f, hl), residual_sd(flat, f))


def test_selection_spread_follows_the_recent_error_level() -> None:
    """A series whose noise fell from sd 10 to sd 1 a year ago: the weighted spread (half-life
    2 horizons, the default) is near the recent level, the unweighted one remembers the old noise."""
    rng = np.random.default_rng(8)
    y = 50.0 + np.concatenate([rng.normal(0, 10, (30, 80)), rng.normal(0, 1, (30, 52))], axis=1)
    cfg = SelectionConfig(learn_spread=False, outlier_k=None)
    weighted = select_and_forecast(y, 4, config=cfg)
    flat = select_and_forecast(y, 4, config=replace(cfg, spread_half_life=None))
    assert np.median(weighted.residual_sd) < 0.5 * np.median(flat.residual_sd)
    assert np.median(weighted.residual_sd) < 4.0
    with pytest.raises(InvalidParameterError):
        SelectionConfig(spread_half_life=0.0)


def test_fit_without_one_step_errors_gets_the_sd_around_its_flat_forecast() -> None:
    """ADIDA on a series whose one demand (3 units) is in period 20 of 30 aggregates at its
    mean interval (21): one bucket, no one-step errors, so the kernel has no residual sd.
    The selection's spread is then the RMS deviation of the history from the flat forecast
    f = 3 / 21: ((3 - f)^2 + 29 f^2) / 30."""
    from stockpilot.core.forecast.models.aggregation import adida_forecast
    from stockpilot.core.forecast.selection import _spread

    y = np.zeros((1, 30))
    y[0, 20] = 3.0
    pf = adida_forecast(y, 4)
    assert np.isnan(pf.residual_sd[0])
    f = pf.mean[0, 0]
    assert f == pytest.approx(3 / 21)
    expected = np.sqrt(((3 - f) ** 2 + 29 * f**2) / 30)
    assert _spread(pf, y, None, None)[0] == pytest.approx(expected)
    assert _spread(pf, y, y, None)[0] == pytest.approx(expected)
    # recency-weighted like the other fits (half-life 5 periods)
    w = 0.5 ** ((29 - np.arange(30)) / 5.0)
    err2 = (y[0] - f) ** 2
    assert _spread(pf, y, y, 5.0)[0] == pytest.approx(np.sqrt((w * err2).sum() / w.sum()))


def test_sparse_series_keep_the_learned_normal_spread() -> None:
    """Series whose ADIDA fit has no one-step errors still get a residual sd, so the
    learned (normal) spread applies to them instead of a count law with upper quantiles
    of 0. (Sizes of 1.5-3.5 units, a measured quantity: in whole units the normal's
    quantiles are rounded up, and on these origins, all zero, the count law then scores
    lower and is kept, as rule 6 says.)"""
    rng = np.random.default_rng(3)
    y = np.zeros((40, 36))
    for i in range(40):  # odd rows: one demand (one ADIDA bucket), even rows: six
        k = 1 if i % 2 else 6
        y[i, rng.choice(np.arange(4, 28), k, replace=False)] = rng.integers(1, 4, k) + 0.5
    cfg = SelectionConfig(intermittent_models=(ForecastModel.ADIDA,), outlier_k=None)
    r = select_and_forecast(
        y, 4, config=cfg, patterns=np.full(40, "intermittent"), lifecycle=np.full(40, "mature")
    )
    assert (r.n_origins_used > 0).all()
    assert np.isfinite(r.residual_sd).all()
    assert (r.distribution == "normal").all()


def test_deferred_residual_sd_leaves_the_selection_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Inside ``deferred_residual_sd`` the kernels leave their residual sd NaN; the
    selection measures it from the fitted values itself, so its result is the same as
    with the kernels' own computed."""
    import contextlib

    from stockpilot.core.forecast import selection
    from stockpilot.core.forecast.base import deferred_residual_sd
    from stockpilot.core.forecast.models.naive import naive_forecast

    y = np.random.default_rng(4).poisson(5.0, (30, 40)).astype(float)
    y[:10, :25] = 0.0
    assert np.isfinite(naive_forecast(y, 3).residual_sd).all()
    with deferred_residual_sd():
        assert np.isnan(naive_forecast(y, 3).residual_sd).all()
    assert np.isfinite(naive_forecast(y, 3).residual_sd).all()
    deferred = select_and_forecast(y, 3)
    monkeypatch.setattr(selection, "deferred_residual_sd", contextlib.nullcontext)
    computed = select_and_forecast(y, 3)
    np.testing.assert_array_equal(deferred.residual_sd, computed.residual_sd)
    np.testing.assert_array_equal(deferred.sd_path, computed.sd_path)
    np.testing.assert_array_equal(deferred.mean, computed.mean)
