"""Exception rules: each fires on a hand-built case with a reason, and only there."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from stockpilot.core.forecast.exceptions import ExceptionRule, ExceptionRules, find_exceptions
from stockpilot.errors import InvalidDataError, InvalidParameterError


def test_each_rule_fires_with_reason() -> None:
    rules = ExceptionRules(
        window=6, max_error=0.5, tracking_signal_limit=4.0, bias_run=5, level_shift_window=4
    )
    actual = np.array(
        [
            [10.0, 10, 10, 10, 10, 10],  # fine
            [10.0, 10, 10, 10, 10, 10],  # error: forecast 30 -> WAPE 200%
            [11.0, 9, 11, 9, 11, 12],  # bias: last 5 under-forecast (10.0 vs 11/9...) below
            [10.0, 10, 10, 10, 10, 10],  # tracking signal only from history rule? no
        ]
    )
    forecast = np.array(
        [
            [10.0, 11, 9, 10, 10, 10],
            [30.0, 30, 30, 30, 30, 30],
            [10.0, 8, 10, 8, 10, 11],
            [9.0, 9, 9, 9, 9, 9],
        ]
    )
    r = find_exceptions(actual, forecast, rules=rules)
    assert r.flagged.tolist() == [False, True, True, True]
    assert r.error.tolist() == [False, True, False, False]
    # row 2: errors +1 each period: TS = 6 > 4 and a run of 6 same-signed errors
    assert r.tracking_signal.tolist() == [False, True, True, True]
    assert r.persistent_bias.tolist() == [False, True, True, True]
    reasons = r.reasons()
    assert reasons[0] == ""
    assert "WAPE 200.0%" in reasons[1]
    assert "under-forecast in each of the last 6 periods" in reasons[2]
    assert {f.rule for f in r.flags if f.row == 3} == {
        ExceptionRule.TRACKING_SIGNAL,
        ExceptionRule.PERSISTENT_BIAS,
    }


def test_level_shift_on_history() -> None:
    hist = np.array([[10.0, 11, 9, 10, 20, 21, 19, 20], [10.0, 11, 9, 10, 10, 11, 9, 10]])
    r = find_exceptions(
        hist[:, -4:], hist[:, -4:], history=hist, rules=ExceptionRules(level_shift_window=4)
    )
    assert r.level_shift.tolist() == [True, False]
    assert "level_shift" in r.reasons()[0] and "+100% change" in r.reasons()[0]


def test_rules_can_be_switched_off_and_validated() -> None:
    rules = ExceptionRules(
        max_error=None, tracking_signal_limit=None, bias_run=None, level_shift_window=None
    )
    r = find_exceptions([[10.0] * 6], [[50.0] * 6], rules=rules)
    assert not r.flagged.any() and r.flags == ()
    with pytest.raises(InvalidParameterError, match="'bias_run' parameter of ExceptionRules"):
        ExceptionRules(bias_run=1)


def test_zero_actuals_with_forecast_is_an_error_flag() -> None:
    r = find_exceptions([[0.0] * 6], [[2.0] * 6])
    assert r.error.tolist() == [True]


def test_level_shift_reason_signs_a_fall_as_negative() -> None:
    """10 -> 5 is a -50 % change, 10 -> 15 a +50 % one (the reason printed +50 % for both)."""
    down = [[10.0, 11, 9, 10, 11, 9, 5, 6, 4, 5, 6, 4]]
    up = [[10.0, 11, 9, 10, 11, 9, 15, 16, 14, 15, 16, 14]]
    assert "(-50% change" in find_exceptions(down, down).reasons()[0]
    assert "(+50% change" in find_exceptions(up, up).reasons()[0]


def test_history_with_more_rows_than_series_is_an_error() -> None:
    """Two history rows for one series flagged a non-existent row 1, then IndexError."""
    with pytest.raises(InvalidDataError, match=r"history has 2 row\(s\).*actual has 1 series"):
        find_exceptions([[1.0] * 6], [[1.0] * 6], history=[[1.0] * 12, [2.0] * 6 + [9.0] * 6])


def test_history_with_fewer_rows_than_series_is_an_error() -> None:
    """One history row for two series was silently broadcast to both."""
    with pytest.raises(InvalidDataError, match=r"history has 1 row\(s\).*actual has 2 series"):
        find_exceptions([[1.0] * 6, [2.0] * 6], [[1.0] * 6, [2.0] * 6], history=[[1.0] * 12])


def test_infinite_actuals_and_forecasts_are_errors_naming_the_rows() -> None:
    actual = [[1.0] * 6, [np.inf] + [1.0] * 5]
    forecast = [[1.0] * 6, [1.0] * 6]
    with pytest.raises(InvalidDataError, match=r"actual holds infinite values in 1 row\(s\) \[1\]"):
        find_exceptions(actual, forecast)
    with pytest.raises(InvalidDataError, match=r"forecast holds infinite.*\[0\]") as info:
        find_exceptions([[1.0] * 6], [[-np.inf] * 6], history=[[np.inf] * 12])
    assert "history holds infinite" in str(info.value)  # all problems reported together


def test_missing_actuals_are_not_an_infinite_error() -> None:
    """No actual at all (NaN) with a forecast of 3 was flagged 'WAPE inf%': nothing was
    measured, so nothing is flagged."""
    r = find_exceptions([[np.nan] * 6], [[3.0] * 6])
    assert r.flags == () and not r.flagged.any()


def test_zero_actual_rule_counts_only_periods_with_an_actual() -> None:
    """Five missing actuals and one actual 0 forecast 0: a perfect forecast, not 'inf'."""
    r = find_exceptions([[np.nan] * 5 + [0.0]], [[3.0] * 5 + [0.0]])
    assert not r.flagged.any()


def test_error_rule_measures_only_periods_with_both_values() -> None:
    """Actual 10 and forecast 4 in three periods (WAPE 60 %), three without an actual."""
    r = find_exceptions([[np.nan] * 3 + [10.0] * 3], [[4.0] * 6])
    assert r.error.tolist() == [True]
    flag = next(f for f in r.flags if f.rule is ExceptionRule.ERROR)
    assert flag.value == pytest.approx(0.6)
    assert "over 3 of the last 6 periods" in flag.reason


def test_persistent_bias_skips_a_period_without_an_actual() -> None:
    """Under-forecast in the six measured periods; the last period has no actual yet."""
    r = find_exceptions(
        [[10.0] * 6 + [np.nan]],
        [[1.0] * 7],
        rules=ExceptionRules(max_error=None, tracking_signal_limit=None),
    )
    assert r.persistent_bias.tolist() == [True]
    assert "under-forecast in each of the last 6 periods" in r.reasons()[0]


def test_rules_that_cannot_fire_on_a_short_window_are_listed() -> None:
    """Four periods of a massive under-forecast: the tracking signal is at most 4 (the
    limit), the bias run needs 6 periods and the level shift 12; the report says so."""
    r = find_exceptions([[10.0] * 4], [[1.0] * 4], rules=ExceptionRules(max_error=None))
    assert not r.flagged.any()
    assert r.inactive_rules == (
        ExceptionRule.TRACKING_SIGNAL,
        ExceptionRule.PERSISTENT_BIAS,
        ExceptionRule.LEVEL_SHIFT,
    )
    assert "signal is at most 4" in r.notes[0] and "bias_run = 6" in r.notes[1]
    full = find_exceptions([[10.0] * 12], [[1.0] * 12])
    assert full.inactive_rules == () and full.notes == ()


def test_switched_off_rules_are_not_listed_as_inactive() -> None:
    rules = ExceptionRules(tracking_signal_limit=None, bias_run=None, level_shift_window=None)
    assert find_exceptions([[1.0]], [[1.0]], rules=rules).inactive_rules == ()


def test_new_series_in_the_level_shift_window_gives_no_runtime_warning() -> None:
    """One observation before the recent window: numpy warned 'Degrees of freedom <= 0'."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = find_exceptions([[10.0] * 6], [[10.0] * 6], history=[[np.nan] * 5 + [0.0] + [10.0] * 6])
        find_exceptions([[10.0] * 6], [[10.0] * 6], history=[[np.nan] * 6 + [10.0] * 6])
    assert r.level_shift.tolist() == [False]
