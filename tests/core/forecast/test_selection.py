"""Method selection by rolling-origin out-of-sample error."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpilot.core.classify import demand_pattern, lifecycle_stage
from stockpilot.core.forecast.base import ForecastModel as M
from stockpilot.core.forecast.base import finite_checked, validate_panel
from stockpilot.core.forecast.models.naive import moving_average_forecast
from stockpilot.core.forecast.registry import fit_predict
from stockpilot.core.forecast.selection import SelectionConfig, select_and_forecast
from stockpilot.core.forecast.spread import GROWTH_GRID, SPREAD_GRID
from stockpilot.errors import InvalidDataError, InvalidParameterError

CFG = SelectionConfig(
    n_origins=2,
    min_train=6,
    smooth_models=(M.NAIVE, M.MOVING_AVERAGE),
    intermittent_models=(M.NAIVE, M.MOVING_AVERAGE),
    seasonal_models=(M.SEASONAL_NAIVE,),
    ensemble_smooth=False,
    group_tolerance_smooth=0.0,
)


def _origin_forecast(name: str, y: np.ndarray, end: int, earliest: int, h: int) -> np.ndarray:
    """Forecast of one candidate at origin ``end`` by the documented rule, written out by
    hand: parameters (the moving-average window) are chosen at the earliest origin and
    reused, unchanged, at the later ones."""
    if name != "moving_average" or end == earliest:
        return np.clip(fit_predict(name, y[:, :end], h).mean, 0, None)
    windows = fit_predict(name, y[:, :earliest], h).params["window"]
    rows = [
        moving_average_forecast(y[i : i + 1, :end], h, window=int(w)).mean[0]
        for i, w in enumerate(windows)
    ]
    return np.clip(np.array(rows), 0, None)


def test_scores_are_rolling_origin_out_of_sample_mse() -> None:
    """Scores equal the MSE of forecasts made at origins T-h and T-2h (hand loop), the
    parameters chosen at T-2h."""
    rng = np.random.default_rng(3)
    y = rng.poisson(5.0, size=(6, 20)).astype(float) + np.arange(20) * 0.3
    r = select_and_forecast(y, 3, config=CFG)
    for j, name in enumerate(r.candidates):
        sq = np.zeros(6)
        for end in (17, 14):
            fc = _origin_forecast(name, y, end, 14, 3)
            sq += ((fc - y[:, end : end + 3]) ** 2).sum(axis=1)
        np.testing.assert_allclose(r.scores[:, j], sq / 6)
    best = np.array(r.candidates)[np.argmin(r.scores, axis=1)]
    assert r.model.tolist() == best.tolist()
    assert all("lowest rolling-origin MSE" in s for s in r.reason)
    # the winner is refitted on the full history
    for m in set(r.model.tolist()):
        rows = r.model == m
        np.testing.assert_allclose(r.mean[rows], np.clip(fit_predict(m, y[rows], 3).mean, 0, None))


def test_ensemble_and_group_best_shrinkage() -> None:
    """The ensemble scores the mean of the candidates' forecasts at each origin; with a
    group tolerance a series keeps its own winner only if it beats the group-best by it."""
    rng = np.random.default_rng(11)
    y = rng.poisson(6.0, size=(30, 24)).astype(float)
    cfg = SelectionConfig(
        n_origins=2,
        min_train=6,
        smooth_models=(M.NAIVE, M.MOVING_AVERAGE),
        ensemble_smooth=True,
        group_tolerance_smooth=0.0,
        outlier_k=None,  # the hand computation below runs on the raw history
    )
    r = select_and_forecast(y, 3, config=cfg)
    assert r.candidates == ("naive", "moving_average", "ensemble")
    sq = np.zeros(30)
    for end in (21, 18):
        fc = sum(_origin_forecast(m, y, end, 18, 3) for m in ("naive", "moving_average")) / 2
        sq += ((fc - y[:, end : end + 3]) ** 2).sum(axis=1)
    np.testing.assert_allclose(r.scores[:, 2], sq / 6)
    ens = r.model == "ensemble"
    assert ens.any()
    # the members run on the full history with their parameters from the earliest origin
    # (the moving-average window chosen at 18), not re-estimated
    full = (
        _origin_forecast("naive", y, 24, 18, 3) + _origin_forecast("moving_average", y, 24, 18, 3)
    ) / 2
    np.testing.assert_allclose(r.mean[ens], full[ens])
    shrunk = select_and_forecast(
        y,
        3,
        config=SelectionConfig(
            n_origins=2,
            min_train=6,
            ensemble_smooth=True,
            smooth_models=(M.NAIVE, M.MOVING_AVERAGE),
            group_tolerance_smooth=0.5,
            outlier_k=None,
        ),
    )
    msd = np.mean(np.diff(y, axis=1) ** 2, axis=1)  # the scale of each series
    group_best = np.array(shrunk.candidates)[np.argmin(np.mean(shrunk.scores / msd[:, None], 0))]
    own = np.array(shrunk.candidates)[np.argmin(shrunk.scores, axis=1)]
    best_val = shrunk.scores.min(axis=1)
    g_val = shrunk.scores[:, list(shrunk.candidates).index(str(group_best))]
    expected = np.where(best_val < 0.5 * g_val, own, group_best)
    assert shrunk.model.tolist() == expected.tolist()
    assert any("was not 50% better" in s for s in shrunk.reason)


def test_short_history_gets_simple_method_with_reason() -> None:
    y = np.full((2, 20), np.nan)
    y[0, -5:] = [3.0, 4.0, 5.0, 4.0, 3.0]
    y[1] = 4.0
    r = select_and_forecast(y, 2, config=CFG)
    assert "fewer than the 8 needed" in r.reason[0]
    assert r.n_origins_used.tolist() == [0, 2]


def test_no_demand_and_empty_forecast_zero() -> None:
    y = np.array([[0.0] * 12, [np.nan] * 12, [2.0] * 12])
    r = select_and_forecast(y, 2, config=CFG)
    assert r.mean[:2].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert "no demand" in r.reason[0] and "no observation" in r.reason[1]


def test_seasonal_candidates_need_two_full_seasons() -> None:
    rng = np.random.default_rng(0)
    long = rng.poisson(5, size=(1, 20)).astype(float)  # earliest origin end 16 >= 2 x 4
    short = np.full((1, 20), np.nan)
    short[0, 8:] = rng.poisson(5, size=12)  # earliest origin 16 - 8 = 8 obs: exactly 2 seasons
    too_short = np.full((1, 20), np.nan)
    too_short[0, 10:] = rng.poisson(5, size=10)  # 6 obs at the earliest origin
    for y, expected in ((long, True), (short, True), (too_short, False)):
        r = select_and_forecast(y, 2, season_length=4, config=CFG)
        assert ("seasonal_naive" in r.candidates) is expected
        assert (" seasonal candidates" in r.reason[0]) is expected


def test_intermittent_series_use_intermittent_candidates() -> None:
    y = np.tile([0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 1.0, 0.0], (1, 3))
    r = select_and_forecast(y, 2, config=CFG)
    assert r.pattern.tolist() == ["intermittent"]
    assert "intermittent candidates" in r.reason[0]


def test_config_validation() -> None:
    with pytest.raises(InvalidParameterError, match="'criterion' parameter"):
        SelectionConfig(criterion="mape")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'h' parameter"):
        select_and_forecast(np.ones((1, 10)), 0)


@settings(max_examples=15, deadline=None)
@given(st.floats(0.0, 1e4), st.integers(1, 40), st.integers(1, 5))
def test_constant_series_forecasts_the_constant(c: float, t: int, h: int) -> None:
    r = select_and_forecast(np.full((2, t), c), h, config=CFG)
    np.testing.assert_allclose(r.mean, c, rtol=1e-9, atol=1e-9)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_results_independent_of_series_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.poisson(rng.uniform(0.2, 8.0, size=(8, 1)), size=(8, 24)).astype(float)
    y[0, :5] = np.nan
    perm = rng.permutation(8)
    a = select_and_forecast(y, 3, config=CFG)
    b = select_and_forecast(y[perm], 3, config=CFG)
    assert b.model.tolist() == a.model[perm].tolist()
    np.testing.assert_allclose(b.mean, a.mean[perm])
    np.testing.assert_allclose(b.sd, a.sd[perm])
    assert (a.mean >= 0).all()


def test_default_config_runs_available_models() -> None:
    rng = np.random.default_rng(1)
    y = rng.poisson(3.0, size=(20, 40)).astype(float)
    r = select_and_forecast(y, 4)
    assert r.mean.shape == (20, 4) and np.isfinite(r.sd).all()
    assert set(r.model.tolist()) <= set(r.candidates)


def test_spread_blends_out_of_sample_and_in_sample_error() -> None:
    rng = np.random.default_rng(4)
    y = rng.poisson(7.0, size=(40, 30)).astype(float)
    r = select_and_forecast(y, 4, config=replace(CFG, learn_spread=False))
    tested = r.n_origins_used > 0
    assert (r.distribution == "").all()
    expected = np.sqrt(0.5 * r.oos_sd**2 + 0.5 * r.residual_sd**2)
    np.testing.assert_allclose(r.sd[tested], expected[tested])
    prof = r.horizon_profile[tested]
    np.testing.assert_allclose((prof**2).mean(axis=1), 1.0)
    np.testing.assert_allclose(r.sd_path, r.sd[:, None] * r.horizon_profile)


@settings(max_examples=5, deadline=None)
@given(st.floats(0.5, 500.0), st.integers(20, 40))
def test_constant_series_forecasts_the_constant_with_default_candidates(c: float, t: int) -> None:
    y = np.full((3, t), c)
    y[1, :5] = np.nan  # launched later
    r = select_and_forecast(y, 4, season_length=12)
    np.testing.assert_allclose(r.mean, c, rtol=1e-6)


def test_learned_spread_is_a_grid_multiple_of_the_residual_sd() -> None:
    """Hand-checkable form: sd_path = residual sd x c x sqrt(1 + g (j - 1)), c and g from the
    grids, one (c, g) per candidate group, normal family; untested series keep the default."""
    rng = np.random.default_rng(5)
    y = rng.poisson(7.0, size=(60, 40)).astype(float)
    r = select_and_forecast(y, 5, config=replace(CFG, learn_spread=True))
    tested = r.n_origins_used > 0
    assert tested.sum() >= 10 and (r.distribution[tested] == "normal").all()
    ratio = r.sd_path[tested] / r.residual_sd[tested, None]
    c = ratio[:, 0]
    assert np.allclose(c, c[0]) and np.isclose(SPREAD_GRID, c[0]).any()
    g = (ratio[0] ** 2 / c[0] ** 2 - 1.0)[1:] / np.arange(1, 5)
    assert np.allclose(g, g[0]) and np.isclose(GROWTH_GRID, g[0]).any()


def test_learned_spread_keeps_the_full_history_sd_for_end_of_life_series() -> None:
    """An end-of-life series (a final run of zeros) gets c = 1, g = 0: its origins sit in the
    zero run and cannot price the risk that demand resumes."""
    rng = np.random.default_rng(6)
    y = rng.poisson(4.0, size=(12, 60)).astype(float)
    y[:, -20:] = 0.0
    life = np.full(12, "end_of_life")
    cfg = replace(CFG, learn_spread=True, end_of_life_regular_share=None)
    r = select_and_forecast(y, 4, config=cfg, lifecycle=life)
    tested = r.n_origins_used > 0
    assert tested.any()
    assert (r.distribution[tested] == "normal").all()
    np.testing.assert_allclose(r.sd_path[tested], np.repeat(r.residual_sd[tested, None], 4, axis=1))


def test_end_of_life_regular_seller_spreads_its_active_demand() -> None:
    """Rule 6: an end-of-life series that sold in most periods before its final zero run (a
    stop unlike its history, e.g. a stock-out) takes the root mean square of that active
    demand as the base of its spread; one that sold rarely keeps its residual sd."""
    from stockpilot.core.forecast.spread import active_demand

    rng = np.random.default_rng(6)
    regular = rng.poisson(4.0, size=(12, 60)).astype(float)  # demand in ~98 % of periods
    rare = np.where(rng.random((12, 60)) < 0.2, 5.0, 0.0)  # demand in ~20 % of periods
    y = np.vstack([regular, rare])
    y[:, -20:] = 0.0
    life = np.full(24, "end_of_life")
    cfg = replace(CFG, learn_spread=True)
    r = select_and_forecast(y, 4, config=cfg, lifecycle=life)
    tested = r.n_origins_used > 0
    assert tested.all() and (r.distribution == "normal").all()
    # c = 1, g = 0 (no other group to borrow from): sd_path is flat at the spread base
    assert cfg.spread_half_life is not None
    active = active_demand(y, cfg.spread_half_life * 4).rms
    base = np.where(np.arange(24) < 12, np.maximum(active, r.residual_sd), r.residual_sd)
    np.testing.assert_allclose(r.sd_path, np.repeat(base[:, None], 4, axis=1))
    # the zero run pulls the residual sd below the demand's size: the regular sellers widen
    assert (active[:12] > r.residual_sd[:12]).all()
    assert all("while it sold" in reason for reason in r.reason[:12])
    assert not any("while it sold" in reason for reason in r.reason[12:])
    off = select_and_forecast(
        y, 4, config=replace(cfg, end_of_life_regular_share=None), lifecycle=life
    )
    np.testing.assert_allclose(off.sd_path, np.repeat(off.residual_sd[:, None], 4, axis=1))


def test_spread_is_learned_against_outlier_capped_actuals() -> None:
    """Rule 6: a one-off spike in an origin window (here in every series, after the last
    training window of every origin) is scored at its outlier limit (rule 7) when (c, g) is
    chosen, so it does not push the spread to the top of the grid as the raw spike does."""
    rng = np.random.default_rng(3)
    y = np.clip(50.0 + rng.normal(0.0, 25.0, (80, 48)), 0.0, None)
    y[:, -2] = 2000.0
    cfg = SelectionConfig(smooth_models=(M.MOVING_AVERAGE, M.SES), ensemble_smooth=False)
    smooth = np.full(80, "smooth")
    capped = select_and_forecast(y, 6, config=cfg, patterns=smooth)
    raw = select_and_forecast(y, 6, config=replace(cfg, outlier_k=None), patterns=smooth)
    c_capped = capped.sd / capped.residual_sd
    c_raw = raw.sd / raw.residual_sd
    assert np.allclose(c_raw, SPREAD_GRID[-1])
    assert (c_capped < SPREAD_GRID[-1] - 0.25).all()


def test_tsb_fixed_candidate_is_tsb_with_the_conventional_constants() -> None:
    """``tsb_fixed`` is scored at the rolling origins like any model and, when it wins, its
    forecast is TSB with alpha_d = alpha_p = 0.1 (statsforecast's ``TSB(0.1, 0.1)``)."""
    from stockpilot.core.forecast.models.intermittent import tsb_forecast
    from stockpilot.core.forecast.selection import TSB_FIXED_ALPHA, FixedModel

    rng = np.random.default_rng(5)
    y = rng.poisson(0.8, size=(12, 40)).astype(float)
    y[:6, 30:] *= 4.0  # a late level shift: the fixed slow constants lag it
    cfg = replace(
        CFG,
        smooth_models=(FixedModel.TSB_FIXED, M.NAIVE),
        intermittent_models=(FixedModel.TSB_FIXED, M.NAIVE),
        outlier_k=None,  # the hand computation below runs on the raw history
    )
    r = select_and_forecast(y, 4, config=cfg)
    assert "tsb_fixed" in r.candidates
    j = r.candidates.index("tsb_fixed")
    sq = np.zeros(12)
    for end in (36, 32):
        fc = tsb_forecast(y[:, :end], 4, alpha_d=TSB_FIXED_ALPHA, alpha_p=TSB_FIXED_ALPHA).mean
        sq += ((np.clip(fc, 0, None) - y[:, end : end + 4]) ** 2).sum(axis=1)
    np.testing.assert_allclose(r.scores[:, j], sq / 8)
    won = r.model == "tsb_fixed"
    assert won.any()
    full = tsb_forecast(y, 4, alpha_d=0.1, alpha_p=0.1).mean
    np.testing.assert_allclose(r.mean[won], np.clip(full[won], 0, None))


def test_spread_learned_per_demand_pattern() -> None:
    """Each demand pattern with at least ``spread_pattern_min`` tested series learns its own
    (c, g); with 0 the whole candidate group shares one."""
    rng = np.random.default_rng(8)
    n, t = 120, 60
    calm = 50.0 + rng.normal(0.0, 3.0, (n, t))
    # the second set's errors triple after period 40: its recent origins ask for a wider c
    noisy = 50.0 + rng.normal(0.0, 3.0, (n, t)) * np.where(np.arange(t) >= 40, 3.0, 1.0)
    y = np.vstack([calm, noisy])
    patterns = np.array(["smooth"] * n + ["erratic"] * n)
    cfg = SelectionConfig(smooth_models=(M.MOVING_AVERAGE, M.SES), ensemble_smooth=False)
    r = select_and_forecast(y, 5, config=cfg, patterns=patterns)
    c = r.sd / r.residual_sd
    assert (r.distribution == "normal").all()
    assert np.ptp(c[:n]) < 1e-9 and np.ptp(c[n:]) < 1e-9  # one c per pattern
    assert c[n] > c[0] + 0.2
    shared = select_and_forecast(y, 5, config=replace(cfg, spread_pattern_min=0), patterns=patterns)
    c_shared = shared.sd / shared.residual_sd
    assert np.ptp(c_shared) < 1e-9
    assert c[0] <= c_shared[0] <= c[n]


def test_own_winners_are_shrunk_toward_the_group_best() -> None:
    """A series that keeps its own winner (30 % better than the group-best on the origins)
    forecasts (1 - w) x its winner's refit + w x the group-best's; the others are untouched.
    Fixed-constant candidates (naive, TSB 0.1 / 0.1) make both refits exact to recompute."""
    from stockpilot.core.forecast.models.intermittent import tsb_forecast
    from stockpilot.core.forecast.models.naive import naive_forecast
    from stockpilot.core.forecast.selection import FixedModel

    rng = np.random.default_rng(2)
    level = rng.uniform(5.0, 15.0, (40, 1))
    y = rng.poisson(level, size=(40, 30)).astype(float)
    y[:8, 20:] += np.linspace(0, 30, 10)  # a ramp: naive tracks it, TSB lags behind
    cfg = SelectionConfig(
        smooth_models=(M.NAIVE, FixedModel.TSB_FIXED),
        ensemble_smooth=False,
        outlier_k=None,
        learn_spread=False,
    )
    life = np.full(40, "mature")
    pat = np.full(40, "smooth")
    plain = select_and_forecast(
        y, 4, config=replace(cfg, group_shrinkage=0.0), lifecycle=life, patterns=pat
    )
    w = 0.3
    shrunk = select_and_forecast(
        y, 4, config=replace(cfg, group_shrinkage=w), lifecycle=life, patterns=pat
    )
    fits = {
        "naive": np.clip(naive_forecast(y, 4).mean, 0, None),
        "tsb_fixed": np.clip(tsb_forecast(y, 4, alpha_d=0.1, alpha_p=0.1).mean, 0, None),
    }
    overruled = [r.split(":")[0] for r in shrunk.reason if "best of the smooth group" in r]
    assert overruled and len(set(overruled)) == 1
    best = overruled[0]  # the group-best: it overrules some series' own winner
    other = next(m for m in fits if m != best)
    own = shrunk.model == other
    assert 0 < own.sum() < 40
    assert (shrunk.model == plain.model).all()
    np.testing.assert_allclose(plain.mean[own], fits[other][own])
    np.testing.assert_allclose(shrunk.mean[own], (1 - w) * fits[other][own] + w * fits[best][own])
    np.testing.assert_allclose(shrunk.mean[~own], plain.mean[~own])
    np.testing.assert_allclose(shrunk.mean[~own], fits[best][~own])
    assert all(f"shrunk 30% toward the group-best {best}" in r for r in shrunk.reason[own])
    assert not any("shrunk" in r for r in plain.reason)


def test_damped_trend_is_a_candidate_of_growing_series_only() -> None:
    """``growth_only_models`` (here damped Holt; none by default) are scored for smooth
    series in their growth stage, which form a group of their own; steady smooth series
    never see them."""
    rng = np.random.default_rng(8)
    y = rng.poisson(20.0, size=(40, 40)).astype(float)
    y[20:] += np.arange(40) * 1.5  # 20 growing series
    life = np.where(np.arange(40) >= 20, "growth", "mature")
    pat = np.full(40, "smooth")
    cfg = SelectionConfig(
        ensemble_smooth=False, outlier_k=None, growth_only_models=(M.DAMPED_HOLT,)
    )
    r = select_and_forecast(y, 4, config=cfg, lifecycle=life, patterns=pat)
    dh = list(r.candidates).index("damped_holt")
    assert np.isnan(r.scores[:20, dh]).all()
    assert np.isfinite(r.scores[20:, dh]).all()
    assert all("smooth growth candidates" in s or "smooth growth group" in s for s in r.reason[20:])
    assert not any("growth" in s for s in r.reason[:20])
    every = select_and_forecast(
        y, 4, config=replace(cfg, growth_only_models=()), lifecycle=life, patterns=pat
    )
    assert np.isfinite(every.scores[:, dh]).all()


def test_an_infinite_value_is_rejected_once_with_its_row() -> None:
    y = np.full((3, 30), 4.0)
    y[2, 7] = np.inf
    with pytest.raises(InvalidDataError, match=r"select_and_forecast.*Rows \[2\]"):
        select_and_forecast(y, 3)


def test_kernels_inside_finite_checked_skip_the_scan_only() -> None:
    y = np.array([[1.0, np.inf]])
    with pytest.raises(InvalidDataError, match="infinite"):
        validate_panel(y, 1, 1, owner="k")
    with finite_checked():
        assert validate_panel(y, 1, 1, owner="k") is not None
        with pytest.raises(InvalidParameterError):  # the other checks still run
            validate_panel(y, 0, 1, owner="k")
    with pytest.raises(InvalidDataError):  # and the scan is back after the block
        validate_panel(y, 1, 1, owner="k")


def test_unknown_patterns_and_stages_are_refused() -> None:
    y = np.ones((2, 30))
    with pytest.raises(InvalidParameterError, match=r"'patterns'.*Got 'foo'"):
        select_and_forecast(y, 2, patterns=["smooth", "foo"])
    with pytest.raises(InvalidParameterError, match=r"'lifecycle'.*Got 'old'"):
        select_and_forecast(y, 2, lifecycle=["mature", "old"])
    with pytest.raises(InvalidDataError, match="1 patterns / 2 stages for 2 series"):
        select_and_forecast(y, 2, patterns=["smooth"])


def test_max_history_fits_the_last_periods_with_the_classes_of_the_whole_history() -> None:
    rng = np.random.default_rng(11)
    y = rng.poisson(rng.uniform(0.5, 9.0, size=(30, 1)), size=(30, 80)).astype(float)
    y[:5, :50] = 0.0  # five series that only sold lately: classes differ on the window
    pattern, life = demand_pattern(y).patterns, lifecycle_stage(y)
    windowed = select_and_forecast(y, 4, config=SelectionConfig(max_history=40))
    by_hand = select_and_forecast(y[:, -40:], 4, patterns=pattern, lifecycle=life)
    np.testing.assert_array_equal(windowed.model, by_hand.model)
    np.testing.assert_allclose(windowed.mean, by_hand.mean)
    np.testing.assert_allclose(windowed.sd, by_hand.sd)
    whole = select_and_forecast(y, 4)
    assert not np.allclose(whole.mean, windowed.mean)
    with pytest.raises(InvalidParameterError, match="max_history"):
        SelectionConfig(max_history=3)
