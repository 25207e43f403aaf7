"""Writing the board report: ``board-report-YYYY.pdf`` and ``board-report-YYYY.html``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from phiwarden.program import board_pdf
from phiwarden.program.board import report
from phiwarden.program.board_charts import charts, svg
from phiwarden.program.board_text import headline, missing_text, pct
from phiwarden.store.setup import Stores

_ENV = Environment(
    loader=PackageLoader("phiwarden.program", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)


def html(figures: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (charts inline as SVG)."""
    return _ENV.get_template("board.html.j2").render(
        f=figures,
        svg={name: svg(d) for name, d in charts(figures).items()},
        headline=headline(figures),
        pct=pct,
        missing=lambda key: missing_text(figures, key),
    )


def write_report(
    stores: Stores, year: int, out_dir: Path, today: date | None = None
) -> tuple[Path, Path, dict[str, Any]]:
    """Compute the year's figures and write the PDF and the HTML; their paths and the
    figures."""
    figures = report(stores, year, today)
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = out_dir / f"board-report-{year}.pdf"
    page = out_dir / f"board-report-{year}.html"
    pdf.write_bytes(board_pdf.render(figures))
    page.write_text(html(figures), encoding="utf-8")
    return pdf, page, figures
