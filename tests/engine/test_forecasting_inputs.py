"""Forecaster on the inputs planners and notebooks actually hand it: extracts that end
mid-bucket, time-zone-aware or text dates, bad quantities, loose item masters, odd
lead times, one series with one level, a spike in a steady seller."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import polars as pl
import pytest

from stockpilot.engine.forecasting import Forecaster
from stockpilot.engine.panel import as_dates, incomplete_last_bucket
from stockpilot.errors import InvalidDataError, InvalidParameterError

START = date(2024, 1, 1)  # a Monday


def _daily(days: int, per_day: float = 10.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": "A",
            "location_id": "L",
            "date": [START + timedelta(days=k) for k in range(days)],
            "quantity": per_day,
        }
    )


def _weekly(values: list[float] | np.ndarray, item: str = "A") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": item,
            "location_id": "L",
            "period": [START + timedelta(weeks=k) for k in range(len(values))],
            "quantity": np.asarray(values, dtype=float),
        }
    )


def test_an_extract_ending_mid_week_leaves_that_week_out() -> None:
    # 20 weeks and 3 days of 10 a day: the 3-day week summed as a whole one read as 30
    demand = _daily(7 * 20 + 3)
    r = Forecaster(horizon=2, bucket="week").fit(demand).predict()
    assert r.forecasts["mean"].to_list() == pytest.approx([70.0, 70.0])
    assert r.forecasts["period_start"][0] == date(2024, 5, 20)  # the incomplete week itself
    assert len(r.notes) == 1 and "2024-05-22" in r.notes[0] and "3 record(s)" in r.notes[0]
    # the end given: the user says the history ends there, the week is kept as it is
    kept = Forecaster(horizon=2, bucket="week", end=date(2024, 5, 22)).fit(demand).predict()
    assert kept.notes == () and kept.forecasts["period_start"][0] == date(2024, 5, 27)
    # whole weeks: nothing left out
    whole = Forecaster(horizon=2, bucket="week").fit(_daily(7 * 20)).predict()
    assert whole.notes == () and whole.forecasts["mean"].to_list() == pytest.approx([70.0] * 2)


def test_which_last_bucket_is_incomplete() -> None:
    mondays = pl.Series([START + timedelta(weeks=k) for k in range(21)])  # to 2024-05-20
    # weekly records cover their week: May lacks the week of 27 May
    assert incomplete_last_bucket(mondays, "month") == date(2024, 5, 1)
    assert incomplete_last_bucket(mondays[:22], "week") is None
    assert (
        incomplete_last_bucket(pl.Series([START + timedelta(weeks=k) for k in range(22)]), "month")
        is None
    )
    firsts = pl.Series([date(2024, m, 1) for m in range(1, 6)])
    assert incomplete_last_bucket(firsts, "month") is None
    assert incomplete_last_bucket(firsts.reverse(), "month") is None  # in any order
    assert incomplete_last_bucket(firsts.reverse(), "week") is None  # a month covers its weeks
    month_ends = pl.Series([date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)])
    assert incomplete_last_bucket(month_ends, "month") is None
    assert incomplete_last_bucket(pl.Series([date(2024, 3, 15)]), "day") is None


def test_time_zone_aware_and_text_dates_keep_their_local_date() -> None:
    stamps = pd.date_range("2024-01-01", periods=30, freq="W-MON")
    values = np.arange(30.0)
    expected = Forecaster(horizon=2).fit(
        pd.DataFrame({"item_id": "A", "location_id": "L", "period": stamps, "quantity": values})
    )
    first = expected.predict().forecasts["period_start"][0]
    assert first == date(2024, 7, 29)
    for period in (stamps.tz_localize("Europe/Berlin"), [str(s.date()) for s in stamps]):
        frame = pd.DataFrame(
            {"item_id": "A", "location_id": "L", "period": period, "quantity": values}
        )
        got = Forecaster(horizon=2).fit(frame).predict().forecasts
        assert got["period_start"][0] == first
    berlin = pl.Series("period", [pd.Timestamp("2022-01-01", tz="Europe/Berlin")]).cast(
        pl.Datetime("us", "Europe/Berlin")
    )
    assert as_dates(berlin, "test").to_list() == [date(2022, 1, 1)]
    with pytest.raises(InvalidDataError, match=r"1 unreadable date.*'period'.*rows \[1\]"):
        as_dates(pl.Series("period", ["2024-01-01", "soon"]), "Demand")
    with pytest.raises(InvalidDataError, match="must hold dates"):
        as_dates(pl.Series("period", [1.5]), "Demand")


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ([1.0, float("inf"), 2.0], "1 infinite"),
        ([1.0, float("nan"), 2.0], "1 missing"),
        ([1.0, None, 2.0], "1 missing"),
        ([1.0, -2.0, 2.0], "1 negative"),
    ],
)
def test_bad_quantities_are_counted_with_their_rows(quantity: list, message: str) -> None:
    frame = _weekly([1.0, 1.0, 1.0]).with_columns(pl.Series("quantity", quantity, dtype=pl.Float64))
    with pytest.raises(InvalidDataError, match=rf"{message}.*rows \[1\]"):
        Forecaster(horizon=1).fit(frame)


def test_text_quantities_and_missing_columns_are_named() -> None:
    text = _weekly([1.0, 1.0]).with_columns(pl.Series("quantity", ["1", "two"]))
    with pytest.raises(InvalidDataError, match="1 non-numeric"):
        Forecaster(horizon=1).fit(text)
    with pytest.raises(InvalidDataError, match=r"\['quantity'\] missing"):
        Forecaster(horizon=1).fit(_weekly([1.0]).drop("quantity"))
    mixed = pd.DataFrame(
        {"item_id": "A", "location_id": "L", "period": START, "quantity": ["x", 1.0]}
    )
    with pytest.raises(InvalidDataError, match=r"mixed types: \['quantity'\]"):
        Forecaster(horizon=1).fit(mixed)


def test_the_item_master_is_checked_and_may_be_pandas() -> None:
    demand = pl.concat([_weekly(np.arange(30.0) % 7, "I0"), _weekly(np.arange(30.0) % 5, "I1")])
    as_pandas = pd.DataFrame({"item_id": ["I0", "I1"], "unit_cost": [2.0, 30.0]})
    r = Forecaster(horizon=2, items=as_pandas).fit(demand).predict()
    assert r.diagnostics.height == 2
    for items, message in (
        (
            pl.DataFrame({"item_id": ["I0", "I0"], "unit_cost": [2.0, 3.0]}),
            r"on more than one row: \['I0'\]",
        ),
        (
            pl.DataFrame({"item_id": ["I0", "I1"], "unit_cost": [-1.0, 3.0]}),
            r"1 unit_cost .*\['I0'\]",
        ),
        (
            pl.DataFrame({"item_id": ["I0", "I1"], "unit_cost": ["abc", "3"]}),
            r"1 unit_cost .*\['I0'\]",
        ),
        (pl.DataFrame({"item_id": ["I0"], "analogue_factor": [-0.5]}), "analogue_factor"),
    ):
        with pytest.raises(InvalidDataError, match=message):
            Forecaster(horizon=2, items=items).fit(demand)


def test_lead_times_are_one_value_or_one_per_series() -> None:
    demand = _weekly(np.arange(30.0) % 7)
    with pytest.raises(
        InvalidDataError, match=r"lead_time must be one number or one per series \(1\)"
    ):
        Forecaster(horizon=2, lead_time=[1.0, 2.0, 3.0]).fit(demand).predict()
    for bad in (
        {"lead_time_sd": -1.0},
        {"lead_time": float("inf")},
        {"review_period": float("nan")},
    ):
        with pytest.raises(InvalidParameterError, match=next(iter(bad))):
            Forecaster(horizon=2, **{"lead_time": 2.0, **bad}).fit(demand).predict()


def test_one_series_with_one_level() -> None:
    r = Forecaster(horizon=2, levels=(0.9,)).fit(_weekly([5.0, 6.0, 4.0])).predict()
    assert r.forecasts.columns[-1] == "q90" and r.forecasts.height == 2


def test_a_steady_seller_with_one_bulk_order_keeps_positive_quantiles() -> None:
    values = np.full(60, 5.0)
    values[50] = 5000.0
    r = Forecaster(horizon=4, lead_time=2).fit(_weekly(values)).predict()
    row = r.forecasts.row(0, named=True)
    assert r.diagnostics["distribution"][0] == "gamma"
    assert 0 < row["q50"] <= row["q80"] <= row["q90"] <= row["q95"] <= row["q99"]
    assert row["q90"] >= 5.0
    assert r.lead_time is not None and r.lead_time["q90"][0] >= 10.0


def test_whole_units_survive_a_borrowed_history() -> None:
    # N borrows B's history at 0.37 of its size: the borrowed values are fractional, N's
    # own demand is whole, so are its quantiles
    rng = np.random.default_rng(3)
    b = _weekly(rng.poisson(9.0, 40).astype(float), "B")
    n = _weekly([3.0, 4.0, 2.0, 5.0], "N").with_columns(pl.col("period") + pl.duration(weeks=36))
    items = pl.DataFrame(
        {"item_id": ["B", "N"], "analogue_item_id": [None, "B"], "analogue_factor": [None, 0.37]}
    )
    r = Forecaster(horizon=3, items=items).fit(pl.concat([b, n])).predict()
    assert r.diagnostics.filter(pl.col("item_id") == "N")["borrowed_periods"][0] == 36
    q = r.forecasts.filter(pl.col("item_id") == "N").select("q50", "q90", "q95").to_numpy()
    np.testing.assert_array_equal(q, np.ceil(q))


def test_backtest_horizon_is_a_positive_integer() -> None:
    from stockpilot.engine.forecasting import backtest

    for bad in (2.5, 0, True):
        with pytest.raises(InvalidParameterError, match="'horizon' parameter of backtest"):
            backtest(_weekly(np.arange(30.0) % 7), horizon=bad)


def test_backtest_says_how_many_series_its_spl_averages() -> None:
    import warnings

    from stockpilot.engine.forecasting import backtest

    rng = np.random.default_rng(2)
    varied = _weekly(rng.poisson(6.0, 30).astype(float), "A")
    flat = _weekly(np.full(30, 4.0), "B")  # a constant history has no scale
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = backtest(pl.concat([varied, flat]), horizon=4)
        assert r.spl_series == 1 and np.isfinite(r.spl).all()
        none = backtest(flat, horizon=4)
    assert none.spl_series == 0 and np.isnan(none.spl).all()


def test_a_horizon_past_the_year_9999_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="ends by the year 9999"):
        Forecaster(horizon=3_000_000, bucket="day").fit(_daily(30))
