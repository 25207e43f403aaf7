"""The board report as a PDF (ReportLab): the computed figures with their charts, and the
Privacy Officer's sections, in the order the Red Flags rule's guidelines give."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from phiwarden.program.board import WRITTEN
from phiwarden.program.board_charts import charts
from phiwarden.program.board_text import headline, missing_text, pct

_S = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=_S["BodyText"], fontName="Helvetica", fontSize=10, leading=13)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8.5, leading=10.5, textColor="#444444")
H1 = ParagraphStyle("h1", parent=_S["Title"], fontSize=17, leading=21, alignment=0)
H2 = ParagraphStyle("h2", parent=_S["Heading2"], fontSize=12.5, spaceBefore=12, spaceAfter=4)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=8.5, leading=10.5)


def _table(head: list[str], rows: list[list[Any]], widths: list[float] | None = None) -> Table:
    data = [[Paragraph(f"<b>{escape(h)}</b>", CELL) for h in head]]
    data += [[Paragraph(escape(str(c)), CELL) for c in r] for r in rows]
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#edf2f7")),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cbd5e0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _text(figures: dict[str, Any], key: str) -> list[Any]:
    written = figures["officer"].get(key)
    if not written:
        return [Paragraph(f"<i>{escape(missing_text(figures, key))}</i>", SMALL)]
    return [Paragraph(escape(p.strip()), BODY) for p in written.split("\n\n") if p.strip()]


def _none(what: str) -> Paragraph:
    return Paragraph(f"<i>{escape(what)}</i>", SMALL)


def story(figures: dict[str, Any]) -> list[Any]:
    """The report's flowables."""
    f, drawn = figures, charts(figures)
    eff = f["effectiveness"]
    out: list[Any] = [
        Paragraph(
            f"Identity Theft Prevention and Privacy Program: report to the board, {f['year']}", H1
        ),
        Paragraph(
            escape(
                f"{f['hospital']}. Figures computed by phiwarden from the program's records as of "
                f"{f['as_of']:%B %d, %Y} (generated {f['generated_at']:%Y-%m-%d %H:%M})"
                + (
                    f"; prepared by {f['officer']['prepared_by']}"
                    if f["officer"].get("prepared_by")
                    else ""
                )
                + "."
            ),
            SMALL,
        ),
        Spacer(1, 8),
        Paragraph("The year in figures", H2),
        _table(["", ""], [list(r) for r in headline(f)], [3.3 * inch, 3.2 * inch]),
        Paragraph("1. How effective the program was", H2),
        _table(
            ["indicator", "this year"],
            [
                ["Red flags resolved or dismissed", pct(eff["flags_resolved_pct"])],
                ["Monitoring alerts reviewed", pct(eff["alerts_decided_pct"])],
                ["Workforce current on required training", pct(eff["training_current_pct"])],
                [
                    "Median days to close a case",
                    eff["median_days_to_close"]
                    if eff["median_days_to_close"] is not None
                    else "none closed",
                ],
            ],
            [3.3 * inch, 3.2 * inch],
        ),
        Spacer(1, 4),
        *_text(f, "effectiveness"),
        Paragraph("2. Red flags by type, and what came of them", H2),
        drawn["flags"],
    ]
    types = f["flags"]["types"]
    out.append(
        _table(
            ["flag", "found", "resolved", "dismissed", "open", "cases"],
            [
                [
                    f"{t['code']} {t['title']}",
                    t["found"],
                    t["resolved"],
                    t["dismissed"],
                    t["open"],
                    t["cases"],
                ]
                for t in types
            ],
            [3.1 * inch, 0.65 * inch, 0.7 * inch, 0.75 * inch, 0.6 * inch, 0.6 * inch],
        )
        if types
        else _none("No red flags were found this year.")
    )
    inv, al = f["investigations"], f["alerts"]
    out += [
        Paragraph("3. Access monitoring, investigations and sanctions", H2),
        Paragraph(
            escape(
                f"Monitoring raised {al['raised']} alert(s); {al['decided']} were reviewed"
                + (
                    f", a median of {al['median_days_to_decide']} day(s) after they were raised"
                    if al["median_days_to_decide"] is not None
                    else ""
                )
                + f". {inv['opened']} privacy investigation(s) were opened: "
                f"{inv['violation']} found a violation, "
                f"{inv['no_violation']} found none, {inv['pending']} are not yet determined. "
                f"{inv['referred_law_enforcement']} were referred to law enforcement and "
                f"{inv['reported_ocr']} reported to OCR."
            ),
            BODY,
        ),
    ]
    if inv["sanctions"]:
        out.append(
            _table(
                ["level", "sanction", "members"],
                [[s["level"], s["title"], s["count"]] for s in inv["sanctions"]],
                [0.6 * inch, 4.6 * inch, 1.3 * inch],
            )
        )
    cases = f["cases"]
    out += [
        KeepTogether(
            [
                Paragraph("4. Cases opened and closed, and the time to resolve them", H2),
                drawn["cases"],
            ]
        ),
        _table(
            ["case type", "opened", "closed", "open at year end", "median days to close"],
            [
                [
                    c["title"],
                    c["opened"],
                    c["closed"],
                    c["open_at_end"],
                    c["median_days"] if c["median_days"] is not None else "-",
                ]
                for c in cases["by_type"]
            ],
            [2.4 * inch, 0.8 * inch, 0.8 * inch, 1.2 * inch, 1.3 * inch],
        )
        if cases["by_type"]
        else _none("No cases this year."),
        Paragraph("5. Incidents and notifications", H2),
    ]
    incidents = f["incidents"]
    out.append(
        _table(
            ["incident", "discovered", "type", "people", "decision", "letters", "status"],
            [
                [
                    f"{i['incident']} {i['title']}",
                    i["discovered"],
                    i["type"],
                    i["people"],
                    i["decision"],
                    i["letters"],
                    i["status"],
                ]
                for i in incidents
            ],
            [
                2.1 * inch,
                0.85 * inch,
                1.15 * inch,
                0.55 * inch,
                0.65 * inch,
                0.55 * inch,
                0.95 * inch,
            ],
        )
        if incidents
        else _none("No incidents were opened this year.")
    )
    significant = [i for i in incidents if i["significant"]]
    out.append(Paragraph("6. Significant incidents and management's response", H2))
    for i in significant:
        done = (
            "; ".join(f"{a['title']} ({a['status']})" for a in i["corrective"]) or "none recorded"
        )
        out.append(
            Paragraph(
                escape(
                    f"{i['incident']}, {i['title']}: {i['people']} people, decision "
                    f"{i['decision']}, {i['letters']} letter(s). Corrective actions: {done}."
                ),
                BODY,
            )
        )
    if not significant:
        out.append(_none("No incident this year was a breach or affected 500 people or more."))
    out += _text(f, "significant_response")
    out.append(Paragraph("7. Service providers and business associates", H2))
    providers = f["providers"]
    out.append(
        _table(
            ["provider", "service", "BAA signed", "last review", "next review", "attention"],
            [
                [
                    p["name"],
                    p["service"],
                    p["baa_signed"] or "-",
                    p["last_review"] or "-",
                    p["next_review"],
                    "; ".join(p["issues"]) or "none",
                ]
                for p in providers
            ],
            [1.3 * inch, 1.5 * inch, 0.8 * inch, 0.8 * inch, 0.8 * inch, 1.3 * inch],
        )
        if providers
        else _none(
            "No service providers are recorded: import them with "
            "'phiwarden program providers import FILE'."
        )
    )
    training = f["training"]
    out += [
        KeepTogether([Paragraph("8. Training", H2), drawn["training"]]),
        Paragraph(
            escape(
                f"{training['current']} of {training['members']} workforce members are current "
                f"on every course their role requires; {len(training['overdue'])} course "
                "completion(s) are overdue."
            ),
            BODY,
        ),
        Paragraph("9. Changes to the program", H2),
    ]
    out.append(
        _table(
            ["approved", "document", "version", "approved by"],
            [
                [a["approved_on"], a["subject"], a["version"], a["approved_by"]]
                for a in f["approvals"]
            ],
            [1.0 * inch, 2.6 * inch, 1.0 * inch, 1.9 * inch],
        )
        if f["approvals"]
        else _none(
            "No change to the catalogue, the sanction policy or the procedures was approved "
            "this year."
        )
    )
    waiting = [p for p in f["pending_changes"] if not p.get("never") and p.get("diff")]
    if waiting:
        out.append(
            Paragraph(
                escape(
                    "In force but not yet approved: "
                    + ", ".join(p["subject"] for p in waiting)
                    + "."
                ),
                BODY,
            )
        )
    out.append(Paragraph(f"10. {WRITTEN['recommended_changes']}", H2))
    out += _text(f, "recommended_changes")
    return out


def render(figures: dict[str, Any]) -> bytes:
    """The report as PDF bytes, with page numbers."""
    buffer = io.BytesIO()

    def footer(canvas: Any, doc: Any) -> None:
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(
            0.75 * inch, 0.5 * inch, f"Report to the board, {figures['year']}: confidential"
        )
        canvas.drawRightString(LETTER[0] - 0.75 * inch, 0.5 * inch, f"page {doc.page}")

    doc = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=0.75 * inch,
        rightMargin=0.75 * inch,
        topMargin=0.7 * inch,
        bottomMargin=0.8 * inch,
        title=f"Report to the board {figures['year']}",
        author=str(figures["hospital"]),
    )
    doc.build(story(figures), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
