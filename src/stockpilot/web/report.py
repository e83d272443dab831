"""Self-contained HTML report of a planning run (Jinja2 + plotly).

The report is one file a planner can open or mail: run status and step timings, the
import reconciliation, policy and service figures per class, and forecast charts for
a few series. plotly.js is embedded once so the file works offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.offline import get_plotlyjs


@dataclass(frozen=True)
class StepLine:
    name: str
    status: str
    seconds: float | None
    message: str | None


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows; built by the services layer from the store."""

    title: str
    run_id: str
    status: str
    created_at: datetime
    steps: Sequence[StepLine]
    import_counts: pl.DataFrame  # entity, rows_in, loaded, quarantined
    quarantine_reasons: pl.DataFrame  # reason, rows
    policies: pl.DataFrame  # DESIGN.md policy columns
    history: pl.DataFrame  # item_id, location_id, period, quantity
    forecasts: pl.DataFrame  # item_id, location_id, period_start, mean, q.. columns
    highlights: Sequence[tuple[str, str]] = field(default_factory=tuple)
    error: str | None = None
    service_by_class: pl.DataFrame | None = None  # abc, lines, target, expected, simulated
    exceptions: pl.DataFrame | None = None  # item_id, location_id, rule, value, limit, reason
    network: pl.DataFrame | None = None  # location_id, lines, decoupling, safety_stock
    accuracy_by_class: pl.DataFrame | None = None  # abc, series, wape, bias, fva_statistical
    accuracy_by_author: pl.DataFrame | None = None  # override_author, series, fva_override


def _table(frame: pl.DataFrame, *, limit: int = 50) -> dict[str, object]:
    shown = frame.head(limit)
    rows = [[_fmt(v) for v in row] for row in shown.iter_rows()]
    numeric = [dtype.is_numeric() for dtype in shown.dtypes]
    return {
        "columns": shown.columns,
        "rows": rows,
        "numeric": numeric,
        "more": max(0, frame.height - limit),
    }


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _series_chart(data: ReportData, item_id: str, location_id: str) -> str:
    hist = data.history.filter(
        (pl.col("item_id") == item_id) & (pl.col("location_id") == location_id)
    ).sort("period")
    fc = data.forecasts.filter(
        (pl.col("item_id") == item_id) & (pl.col("location_id") == location_id)
    ).sort("period_start")
    fig = go.Figure()
    fig.add_scatter(x=hist["period"].to_list(), y=hist["quantity"].to_list(), name="history")
    if fc.height:
        fig.add_scatter(x=fc["period_start"].to_list(), y=fc["mean"].to_list(), name="forecast")
        upper = [c for c in fc.columns if c.startswith("q") and c[1:].isdigit()]
        if upper:
            top = max(upper, key=lambda c: int(c[1:]))
            fig.add_scatter(
                x=fc["period_start"].to_list(),
                y=fc[top].to_list(),
                name=f"{top} quantile",
                line={"dash": "dot"},
            )
    fig.update_layout(
        title=f"{item_id} @ {location_id}", height=300, margin={"l": 40, "r": 10, "t": 40, "b": 30}
    )
    return pio.to_html(fig, full_html=False, include_plotlyjs=False)


def render_report(data: ReportData, *, charts: int = 4) -> str:
    """Render ``data`` as a standalone HTML page."""
    env = Environment(
        loader=PackageLoader("stockpilot.web", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    keys = (
        data.history.group_by("item_id", "location_id")
        .agg(pl.col("quantity").sum())
        .sort("quantity", descending=True)
        .head(charts)
    )
    chart_html = [_series_chart(data, r[0], r[1]) for r in keys.iter_rows()]
    return env.get_template("report.html.j2").render(
        data=data,
        plotly_js=f'<script type="text/javascript">{get_plotlyjs()}</script>',
        steps=data.steps,
        import_table=_table(data.import_counts),
        reasons_table=_table(data.quarantine_reasons),
        policy_table=_table(data.policies),
        service_table=None if data.service_by_class is None else _table(data.service_by_class),
        exceptions_table=None if data.exceptions is None else _table(data.exceptions),
        network_table=None if data.network is None else _table(data.network),
        accuracy_class_table=None
        if data.accuracy_by_class is None
        else _table(data.accuracy_by_class),
        accuracy_author_table=None
        if data.accuracy_by_author is None or data.accuracy_by_author.height == 0
        else _table(data.accuracy_by_author),
        charts=chart_html,
    )
