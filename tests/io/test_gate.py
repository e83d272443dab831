"""The validation gate: every reason code caught with its file and row; counts reconcile."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockpilot.errors import InvalidParameterError
from stockpilot.io.gate import GateOptions, GateResult, Reason, revalidate, validate
from stockpilot.io.readers import read_file
from stockpilot.settings import Settings

AS_OF = date(2026, 3, 2)
OPTIONS = GateOptions(as_of=AS_OF, freshness_days=None)


def _csv(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n")
    return path


@pytest.fixture
def masters(tmp_path: Path) -> dict[str, Path]:
    return {
        "items": _csv(tmp_path / "items.csv", "item_id,unit_cost\nA,2\nB,3"),
        "locations": _csv(tmp_path / "locations.csv", "location_id\nL1\nL2"),
    }


def _run(tables: dict[str, Path], options: GateOptions = OPTIONS, **kw: object) -> GateResult:
    return validate({k: read_file(v) for k, v in tables.items()}, options=options, **kw)  # type: ignore[arg-type]


def _only(result: GateResult) -> dict[str, object]:
    assert result.quarantine.height == 1, result.quarantine
    return result.quarantine.row(0, named=True)


def _demand(tmp_path: Path, rows: str, header: str = "item_id,location_id,date,quantity") -> Path:
    return _csv(tmp_path / "demand.csv", f"{header}\n{rows}")


@pytest.mark.parametrize(
    ("rows", "reason", "bad_row", "detail"),
    [
        ("A,L1,2026-02-02,3\nA,L1,2026-02-03,", Reason.MISSING_VALUE, 3, "quantity is empty"),
        ('A,L1,2026-02-02,"12,5x"', Reason.INVALID_TYPE, 2, "'12,5x' is not a float"),
        ("A,L1,2026-02-30,1", Reason.INVALID_TYPE, 2, "'2026-02-30' is not a date"),
        ("A,L1,2026-02-02,1\nA,L1,2026-02-03,-2", Reason.INVALID_VALUE, 3, "not a return"),
        ("A,L1,2026-02-02,1\nA,L1,2026-03-09,2", Reason.FUTURE_DATE, 3, "after the as-of date"),
        ("A,L1,2026-02-02,1\nZ,L1,2026-02-02,2", Reason.UNKNOWN_KEY, 3, "item_id Z"),
        ("A,L1,2026-02-02,1\nA,L9,2026-02-02,2", Reason.UNKNOWN_KEY, 3, "location_id L9"),
        ("A,L1,2026-02-02,1\nA,L1,2026-02-02,5", Reason.DUPLICATE, 3, "already loaded"),
    ],
)
def test_each_reason_is_caught_with_file_and_row(
    tmp_path: Path,
    masters: dict[str, Path],
    rows: str,
    *,
    reason: Reason,
    bad_row: int,
    detail: str,
) -> None:
    result = _run({**masters, "demand": _demand(tmp_path, rows)})
    bad = _only(result)
    assert bad["reason"] == reason.value
    assert bad["entity"] == "demand"
    assert bad["source_file"] == "demand.csv"
    assert bad["row_number"] == bad_row
    assert detail in str(bad["detail"])
    raw = json.loads(str(bad["raw"]))
    assert raw["item_id"] in {"A", "Z"}
    assert result.report.reconciles


def test_negative_demand_flagged_as_return_is_accepted(
    tmp_path: Path, masters: dict[str, Path]
) -> None:
    path = _demand(
        tmp_path, "A,L1,2026-02-02,-2,true", "item_id,location_id,date,quantity,is_return"
    )
    result = _run({**masters, "demand": path})
    assert result.quarantine.height == 0
    assert result.accepted["demand"]["quantity"].to_list() == [-2.0]


def test_missing_required_column_quarantines_every_row_of_the_file(
    tmp_path: Path, masters: dict[str, Path]
) -> None:
    path = _csv(tmp_path / "on_hand.csv", "item_id,location_id,qty\nA,L1,3\nB,L2,4")
    result = _run({**masters, "on_hand": path})
    assert result.quarantine["reason"].to_list() == ["missing_column"] * 2
    assert result.quarantine["row_number"].to_list() == [2, 3]
    assert "['date', 'quantity']" in result.quarantine["detail"][0]
    assert result.report.ignored_columns["on_hand"] == ("qty",)
    assert result.accepted["on_hand"].height == 0


@pytest.mark.parametrize(
    ("entity", "text", "detail"),
    [
        ("items", "item_id,unit_cost\nC,0", "unit_cost = 0.0 must be > 0"),
        ("items", "item_id,unit_cost\nC,-1", "must be > 0"),
        ("on_hand", "item_id,location_id,date,quantity\nA,L1,2026-03-01,-4", "must be >= 0"),
        ("receipts", "po_id,receipt_date,quantity\nP1,2026-02-01,0", "quantity = 0.0 must be > 0"),
        (
            "events",
            "event_id,kind,start_date,end_date\nE1,promotion,2026-02-10,2026-02-01",
            "end_date 2026-02-01 is before start_date 2026-02-10",
        ),
        (
            "purchase_orders",
            "po_id,supplier_id,item_id,location_id,quantity,order_date,due_date\n"
            "P2,S1,A,L1,5,2026-02-10,2026-02-01",
            "due_date 2026-02-01 is before order_date",
        ),
    ],
)
def test_impossible_values(
    tmp_path: Path, masters: dict[str, Path], entity: str, text: str, detail: str
) -> None:
    tables = {**masters, entity: _csv(tmp_path / f"{entity}.csv", text)}
    if entity in {"receipts", "purchase_orders"}:
        tables["suppliers"] = _csv(tmp_path / "suppliers.csv", "supplier_id\nS1")
        tables["purchase_orders"] = tables.get("purchase_orders") or _csv(
            tmp_path / "purchase_orders.csv",
            "po_id,supplier_id,item_id,location_id,quantity,order_date,due_date\n"
            "P1,S1,A,L1,5,2026-01-10,2026-01-20",
        )
    result = _run(tables)
    bad = result.quarantine.filter(pl.col("entity") == entity)
    assert bad["reason"].to_list() == ["invalid_value"]
    assert detail in bad["detail"][0]
    assert bad["row_number"].to_list() == [2]


def test_types_of_int_bool_and_date_columns(tmp_path: Path) -> None:
    items = _csv(
        tmp_path / "items.csv",
        "item_id,unit_cost,shelf_life_days,obsolete,launch_date\n"
        "A,1,30,yes,2025-01-01\nB,1,2.5,no,\nC,1,,maybe,\nD,1,7.0,,01/02/2025",
    )
    result = _run({"items": items})
    q = result.quarantine.sort("row_number")
    assert q["row_number"].to_list() == [3, 4, 5]
    assert q["reason"].to_list() == ["invalid_type"] * 3
    assert "shelf_life_days = '2.5' is not a int" in q["detail"][0]
    assert "obsolete = 'maybe' is not a bool" in q["detail"][1]
    accepted = result.accepted["items"]
    assert accepted.schema["shelf_life_days"] == pl.Int64
    assert accepted["obsolete"].to_list() == [True]
    assert accepted["launch_date"].to_list() == [date(2025, 1, 1)]


def test_all_problems_of_a_row_are_reported_together(tmp_path: Path) -> None:
    path = _csv(tmp_path / "items.csv", "item_id,unit_cost,price,pack_size\nA,x,-1,0")
    bad = _only(_run({"items": path}))
    assert bad["reason"] == "invalid_type"  # the first reason wins
    detail = str(bad["detail"])
    assert "unit_cost = 'x'" in detail and "price = -1.0" in detail and "pack_size" in detail


def test_unknown_keys_checked_against_import_and_store(tmp_path: Path) -> None:
    demand = _demand(tmp_path, "A,L1,2026-02-02,1\nOLD,L1,2026-02-02,1\nNEW,L1,2026-02-02,1")
    items = _csv(tmp_path / "items.csv", "item_id,unit_cost\nA,1\nNEW,0")
    known = {"items": ["OLD"], "locations": ["L1"]}
    result = _run({"items": items, "demand": demand}, known_keys=known)
    bad = result.quarantine.filter(pl.col("entity") == "demand")
    # NEW was itself quarantined (cost 0), so demand for it has no item to attach to.
    assert bad["row_number"].to_list() == [4]
    assert bad["reason"].to_list() == ["unknown_key"]
    assert result.accepted["demand"]["item_id"].to_list() == ["A", "OLD"]


def test_without_known_keys_references_to_absent_entities_are_reported_unchecked(
    tmp_path: Path,
) -> None:
    result = _run({"demand": _demand(tmp_path, "A,L1,2026-02-02,1")})
    assert result.quarantine.height == 0
    assert "demand.item_id -> items" in result.report.unchecked_references


def test_stale_source_quarantines_all_its_rows(tmp_path: Path, masters: dict[str, Path]) -> None:
    old = AS_OF - timedelta(days=40)
    rows = "\n".join(f"A,L1,{(old - timedelta(days=k)).isoformat()},1,legacy" for k in range(3))
    fresh = f"B,L2,{AS_OF.isoformat()},1,pos"
    path = _demand(tmp_path, f"{rows}\n{fresh}", "item_id,location_id,date,quantity,source")
    options = GateOptions(as_of=AS_OF, freshness_days=14, source_freshness={"legacy": 30})
    result = _run({**masters, "demand": path}, options)
    assert result.quarantine["reason"].to_list() == ["stale_source"] * 3
    assert result.quarantine["row_number"].to_list() == [2, 3, 4]
    counts = result.report.counts_frame().filter(pl.col("entity") == "demand").row(0, named=True)
    assert (counts["rows_in"], counts["rows_loaded"], counts["stale_source"]) == (4, 1, 3)
    assert counts["outlier"] == 0
    (stale,) = result.report.stale_sources
    assert (stale.source, stale.newest, stale.freshness_days, stale.rows) == ("legacy", old, 30, 3)
    assert "Stale source 'legacy'" in result.report.render()
    assert result.accepted["demand"]["source"].to_list() == ["pos"]


def test_outlier_by_robust_z_score(tmp_path: Path, masters: dict[str, Path]) -> None:
    """Hand-computed: values 10, 11, 9, 10, 12, 8, 10, 11 and 600, scored on y = log(1 + x).

    median(y) = log 11 (the value 10); absolute deviations 0, 0, 0, log(12/11) twice,
    log(11/10), log(13/11), log(11/9), log(601/11) -> MAD = log(12/11) = 0.08701,
    1.4826 x MAD = 0.12901, below the Poisson floor sqrt(10) / 11 = 0.28748, which is the
    scale; z(600) = log(601/11) / 0.28748 = 13.9 > 6, while z(8) = 0.70. Only row 10
    (the 600) is an outlier.
    """
    values = [10, 11, 9, 10, 12, 8, 10, 11, 600]
    start = date(2025, 12, 1)
    rows = "\n".join(
        f"A,L1,{(start + timedelta(days=7 * k)).isoformat()},{v}" for k, v in enumerate(values)
    )
    result = _run({**masters, "demand": _demand(tmp_path, rows)})
    bad = _only(result)
    assert (bad["reason"], bad["row_number"]) == ("outlier", 10)
    assert "robust z-score 13.9 (log scale)" in str(bad["detail"])
    # Too short a history: not judged.
    short = GateOptions(as_of=AS_OF, freshness_days=None, outlier_min_history=10)
    assert _run({**masters, "demand": _demand(tmp_path, rows)}, short).quarantine.height == 0


def test_low_volume_count_noise_is_not_an_outlier(tmp_path: Path, masters: dict[str, Path]) -> None:
    """Eight sales of 1 and one of 5: y = log 2 eight times and log 6 once.

    MAD = 0, so the mean absolute deviation stands in: log 3 / 9 x 1.2533 = 0.153, which
    alone would give z = log 3 / 0.153 = 7.2 > 6. The Poisson floor at median 1 is
    sqrt(1) / 2 = 0.5, so z = 2.2: ordinary count noise, kept.
    """
    values = [1, 1, 1, 1, 5, 1, 1, 1, 1]
    start = date(2025, 12, 1)
    rows = "\n".join(
        f"A,L1,{(start + timedelta(days=7 * k)).isoformat()},{v}" for k, v in enumerate(values)
    )
    result = _run({**masters, "demand": _demand(tmp_path, rows)})
    assert result.quarantine.height == 0


def _weekly_rows(values: list[float]) -> str:
    start = date(2025, 6, 2)
    return "\n".join(
        f"A,L1,{(start + timedelta(days=7 * k)).isoformat()},{v}" for k, v in enumerate(values)
    )


def test_unusually_low_demand_is_kept(tmp_path: Path, masters: dict[str, Path]) -> None:
    """Regression: a bucket of 1 in a series of about 100 (a stockout week, a partial period)
    is real demand. Its z-score is about -25 on the log scale; only spikes are quarantined."""
    values = [100, 98, 103, 101, 97, 99, 102, 100, 1]
    result = _run({**masters, "demand": _demand(tmp_path, _weekly_rows(values))})
    assert result.quarantine.height == 0


def test_lumpy_orders_among_zeros_are_not_outliers(
    tmp_path: Path, masters: dict[str, Path]
) -> None:
    """Regression: in a lumpy series most buckets are zero; judged against a median of 0,
    every real order looked like a spike. Only the non-zero order sizes are scored:
    sizes 20, 35, 146, 25 have median log(31.5) and are ordinary; 9,000 is a spike."""
    values = [0, 0, 20, 0, 0, 0, 35, 0, 0, 146, 0, 0, 0, 25, 0, 0]
    result = _run({**masters, "demand": _demand(tmp_path, _weekly_rows(values))})
    assert result.quarantine.height == 0
    spiked = [*values, 0, 30, 9000, 22, 40, 0, 28, 33]
    bad = _only(_run({**masters, "demand": _demand(tmp_path, _weekly_rows(spiked))}))
    assert bad["reason"] == "outlier" and "quantity 9000.0" in str(bad["detail"])


def test_options_validate_and_come_from_settings() -> None:
    with pytest.raises(InvalidParameterError, match="'outlier_z' parameter of GateOptions"):
        GateOptions(as_of=AS_OF, outlier_z=0)
    with pytest.raises(InvalidParameterError, match="outlier_min_history"):
        GateOptions(as_of=AS_OF, outlier_min_history=2)
    opts = GateOptions.from_settings(Settings(outlier_z=4.5), as_of=AS_OF)
    assert opts.outlier_z == 4.5 and opts.freshness_days == 14


def test_revalidate_releases_a_corrected_record(tmp_path: Path, masters: dict[str, Path]) -> None:
    path = _demand(tmp_path, 'A,L1,2026-02-02,1\nA,L1,2026-02-03,"12,5x"\nA,L9,2026-02-04,2')
    first = _run({**masters, "demand": path})
    assert first.quarantine.height == 2
    known = {"items": ["A", "B"], "locations": ["L1", "L2"]}
    fixed = revalidate(
        first.quarantine,
        [{"quantity": "12.5"}, None],
        options=OPTIONS,
        known_keys=known,
    )
    assert fixed.accepted["demand"]["quantity"].to_list() == [12.5]
    still = fixed.quarantine.row(0, named=True)
    assert (still["reason"], still["row_number"], still["source_file"]) == (
        "unknown_key",
        4,
        "demand.csv",
    )
    assert fixed.report.reconciles
    # A wrong correction is caught by the same checks.
    again = revalidate(first.quarantine[:1], [{"quantity": "-3"}], options=OPTIONS)
    assert again.quarantine["reason"].to_list() == ["invalid_value"]


GOOD = "A,L1,{d},{q}"
BAD = {
    "missing_value": "A,L1,{d},",
    "invalid_type": "A,L1,{d},abc",
    "invalid_value": "A,L1,{d},-5",
    "future_date": "A,L1,2027-01-01,1",
    "unknown_key": "Q,L1,{d},1",
}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kinds=st.lists(st.sampled_from(["good", *BAD]), min_size=1, max_size=40),
    repeat=st.lists(st.integers(0, 39), max_size=5),
)
def test_random_dirty_imports_always_reconcile(
    tmp_path: Path, masters: dict[str, Path], kinds: list[str], repeat: list[int]
) -> None:
    lines = []
    for k, kind in enumerate(kinds):
        day = (date(2025, 1, 1) + timedelta(days=k)).isoformat()
        lines.append((GOOD if kind == "good" else BAD[kind]).format(d=day, q=k % 5 + 1))
    lines += [lines[i] for i in repeat if i < len(lines)]  # exact repeats -> duplicates
    path = _demand(tmp_path, "\n".join(lines))
    result = _run({**masters, "demand": path})
    report = result.report
    assert report.reconciles
    demand = next(e for e in report.entities if e.entity == "demand")
    assert demand.rows_in == len(lines)
    assert demand.rows_loaded + demand.rows_quarantined == len(lines)
    # Nothing lost: every input row is either loaded or in quarantine, exactly once.
    assert sorted(result.quarantine["row_number"].to_list()) == sorted(
        set(result.quarantine["row_number"].to_list())
    )
    # Every good line has its own date, so exactly the good lines load (repeats of them
    # are duplicates) and every bad line or repeat is quarantined under its reason.
    good = sum(kind == "good" for kind in kinds)
    assert demand.rows_loaded == good
    assert sorted(result.accepted["demand"]["date"].to_list()) == sorted(
        date(2025, 1, 1) + timedelta(days=k) for k, kind in enumerate(kinds) if kind == "good"
    )
    assert sum(demand.by_reason.values()) == demand.rows_quarantined
    for kind in set(kinds) - {"good"}:
        assert demand.by_reason[Reason(kind)] >= kinds.count(kind)


DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_online_retail_real_invoices_reconcile_and_flag_the_74215_unit_order() -> None:
    """UCI Online Retail (Chen, Sain and Guo 2012), invoice lines 2010-12 to 2011-12.

    Lines are summed per stock code, day and return flag (invoices starting with C are
    cancellations: returns) as a POS extract would deliver them. The data's SOURCE.md
    notes the 74,215-unit order of stock code 23166 on 2011-01-18 (cancelled the same
    day); every other day of that jar sells a few dozen at most, so the gate must call
    it an outlier, while the cancellation itself is a return and is loaded.
    """
    path = DATA / "online_retail" / "online_retail_2010-12_2011-12.parquet"
    if not path.exists():
        pytest.skip(f"real data not available at {path}")
    lines = pl.read_parquet(path, columns=["InvoiceNo", "StockCode", "Quantity", "InvoiceDate"])
    daily = (
        lines.with_columns(
            pl.col("InvoiceDate").dt.date().alias("date"),
            pl.col("InvoiceNo").str.starts_with("C").alias("is_return"),
        )
        .group_by("StockCode", "date", "is_return")
        .agg(pl.col("Quantity").sum().alias("quantity"))
        .sort("date", "StockCode", "is_return")
        .select(
            pl.col("StockCode").alias("item_id"),
            pl.lit("UK-ONLINE").alias("location_id"),
            "date",
            "quantity",
            "is_return",
            pl.lit("online_retail").alias("source"),
            pl.lit("online").alias("channel"),
        )
    )
    options = GateOptions(as_of=date(2011, 12, 9), freshness_days=14)
    result = validate({"demand": daily}, options=options)
    report = result.report
    assert report.reconciles and report.rows_in == daily.height
    q = result.quarantine.with_columns(
        pl.col("values").str.json_decode(
            pl.Struct({"item_id": pl.String, "date": pl.String, "quantity": pl.String})
        )
    ).unnest("values")
    jar = q.filter((pl.col("item_id") == "23166") & (pl.col("date") == "2011-01-18"))
    assert jar["reason"].to_list() == ["outlier"]
    accepted = result.accepted["demand"]
    cancelled = accepted.filter(
        (pl.col("item_id") == "23166") & (pl.col("date") == date(2011, 1, 18))
    )
    assert cancelled["quantity"].to_list() == [-74215.0]
    # Outliers are the exception, not the rule: well under 1 % of the daily records.
    assert report.by_reason.get(Reason.OUTLIER, 0) < 0.01 * report.rows_in


def test_blank_strings_are_missing_values_and_empty_files_reconcile(tmp_path: Path) -> None:
    frame = pl.DataFrame({"item_id": ["A", "", "C"], "unit_cost": ["1", "2", " "]})
    result = validate({"items": frame}, options=OPTIONS)
    q = result.quarantine.sort("row_number")
    assert q.select("reason", "row_number").rows() == [
        ("missing_value", 3),
        ("missing_value", 4),  # a cell of spaces is blank too
    ]
    assert json.loads(q["raw"][1]) == {"item_id": "C", "unit_cost": " "}  # raw as given
    empty = _csv(tmp_path / "locations.csv", "location_id,name")
    report = _run({"locations": empty}).report
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (0, 0, 0)
    assert report.reconciles


def test_padded_numbers_and_dates_are_read(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"item_id": ["A", "B"], "unit_cost": [" 2.5 ", "3"], "launch_date": ["2025-01-02 ", None]}
    )
    result = validate({"items": frame}, options=OPTIONS)
    assert result.quarantine.height == 0
    accepted = result.accepted["items"]
    assert accepted["unit_cost"].to_list() == [2.5, 3.0]
    assert accepted["launch_date"].to_list() == [date(2025, 1, 2), None]


def test_every_reason_code_is_documented() -> None:
    from stockpilot.io.gate import REASON_MEANING

    text = (Path(__file__).resolve().parents[2] / "docs" / "ingest.md").read_text()
    for reason in Reason:
        assert f"| `{reason.value}` |" in text, f"docs/ingest.md lacks reason {reason.value}"
        assert REASON_MEANING[reason]


def test_files_read_in_several_chunks_give_the_same_result(tmp_path: Path) -> None:
    """Regression: a file the reader returns in several memory chunks (a scanned CSV of
    a few thousand rows) once crashed the gate (a polars panic) while it formatted the
    quarantine messages. The result must not depend on how the input is chunked."""
    lines = ["item_id,unit_cost,description,category,price,pack_size,obsolete"]
    lines += [
        f"SKU-{i:06d},{1 + i % 7}.5,Item number {i},cat{i % 9},{3 + i % 5},1,no"
        for i in range(3000)
    ]
    lines += ["SKU-900001,0,zero cost,cat1,2,1,no", "SKU-000001,2,again,cat1,2,1,no"]
    lines += ["SKU-900002,n/a,no cost,cat1,2,1,maybe", "SKU-900003, 4 ,padded,cat1,,1,"]
    raw = read_file(_csv(tmp_path / "items.csv", "\n".join(lines) + "\n"))
    if raw.frame.n_chunks() < 2:
        pytest.skip("this polars version reads the file in one chunk")
    split = validate({"items": raw}, options=OPTIONS)
    whole = validate({"items": raw.frame.rechunk()}, options=OPTIONS)
    assert split.quarantine.equals(whole.quarantine)
    assert split.accepted["items"].equals(whole.accepted["items"])
    assert split.quarantine.select("reason", "row_number").rows() == [
        ("invalid_value", 3002),
        ("duplicate", 3003),
        ("invalid_type", 3004),
    ]
