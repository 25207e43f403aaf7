"""The board report's charts, drawn once with ReportLab's graphics: the same drawing goes
into the PDF and, as SVG, into the HTML report."""

from __future__ import annotations

from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.renderSVG import drawToString
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors

BLUE = colors.HexColor("#2b6cb0")
GREEN = colors.HexColor("#38a169")
ORANGE = colors.HexColor("#dd6b20")
GREY = colors.HexColor("#a0aec0")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WIDTH = 460


def _title(d: Drawing, text: str, height: float) -> None:
    d.add(String(0, height - 12, text, fontName="Helvetica-Bold", fontSize=10))


def _legend(d: Drawing, height: float, pairs: list[tuple[Any, str]]) -> None:
    """Swatches and names in a row at the top right, under nothing else."""
    x = WIDTH - sum(18 + 4.6 * len(name) for _, name in pairs)
    for colour, name in pairs:
        d.add(Rect(x, height - 12, 9, 9, fillColor=colour, strokeColor=None))
        d.add(String(x + 12, height - 11, name, fontSize=8))
        x += 18 + 4.6 * len(name)


def _short(label: str, most: int = 40) -> str:
    return label if len(label) <= most else label[: most - 1].rstrip() + "…"


def _empty(d: Drawing, height: float) -> Drawing:
    d.add(String(10, height / 2, "nothing to show for this year", fontSize=9, fillColor=GREY))
    return d


def flags_by_type(types: list[dict[str, Any]]) -> Drawing:
    """Red flags found per type (the ten commonest), split into resolved and open."""
    top = types[:10][::-1]
    height = 60 + 18 * max(len(top), 1)
    d = Drawing(WIDTH, height)
    _title(d, "Red flags found, by type", height)
    if not top:
        return _empty(d, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 190, 20, WIDTH - 200, height - 50
    chart.data = [
        [t["resolved"] + t["dismissed"] for t in top],
        [t["open"] for t in top],
    ]
    chart.categoryAxis.categoryNames = [_short(f"{t['code']} {t['title']}") for t in top]
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.categoryAxis.style = "stacked"
    chart.bars[0].fillColor = GREEN
    chart.bars[1].fillColor = ORANGE
    chart.bars.strokeColor = None
    d.add(chart)
    _legend(d, height, [(GREEN, "resolved or dismissed"), (ORANGE, "still open")])
    return d


def cases_per_month(per_month: dict[str, list[int]]) -> Drawing:
    """Cases opened and closed in each month of the year."""
    height = 200
    d = Drawing(WIDTH, height)
    _title(d, "Cases opened and closed, by month", height)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 35, 35, WIDTH - 50, height - 75
    chart.data = [per_month["opened"], per_month["closed"]]
    chart.categoryAxis.categoryNames = list(MONTHS)
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = BLUE
    chart.bars[1].fillColor = GREEN
    chart.bars.strokeColor = None
    d.add(chart)
    _legend(d, height, [(BLUE, "opened"), (GREEN, "closed")])
    return d


def training_by_department(departments: list[dict[str, Any]]) -> Drawing:
    """Workforce members current on their training, and overdue, per department."""
    rows = departments[:15][::-1]
    height = 60 + 16 * max(len(rows), 1)
    d = Drawing(WIDTH, height)
    _title(d, "Training: members current and overdue, by department", height)
    if not rows:
        return _empty(d, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 190, 20, WIDTH - 200, height - 50
    chart.data = [[r["current"] for r in rows], [r["overdue"] for r in rows]]
    chart.categoryAxis.categoryNames = [_short(str(r["department"])) for r in rows]
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.style = "stacked"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = GREEN
    chart.bars[1].fillColor = ORANGE
    chart.bars.strokeColor = None
    d.add(chart)
    _legend(d, height, [(GREEN, "current"), (ORANGE, "overdue")])
    return d


def charts(figures: dict[str, Any]) -> dict[str, Drawing]:
    """Every chart of the report, by name."""
    return {
        "flags": flags_by_type(figures["flags"]["types"]),
        "cases": cases_per_month(figures["cases"]["per_month"]),
        "training": training_by_department(figures["training"]["departments"]),
    }


def svg(drawing: Drawing) -> str:
    """The drawing as inline SVG that scales to its column (no XML declaration)."""
    text = drawToString(drawing)
    return text[text.index("<svg") :]
