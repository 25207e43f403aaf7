"""A letter as a PDF: the letterhead, the date, the address block and the reference, then
the template's text (its markup: "# " the title, "## " a heading, "- " a list item, a blank
line between paragraphs) laid out by ReportLab's platypus."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from typing import Any

from phiwarden.breach.letters import Letter, fecha, longdate


def _blocks(text: str) -> Iterator[tuple[str, str]]:
    """(kind, text) of the template's markup: title, heading, item, paragraph."""
    paragraph: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        kind = (
            "title"
            if line.startswith("# ")
            else "heading"
            if line.startswith("## ")
            else "item"
            if line.startswith("- ")
            else None
        )
        if kind or not line:
            if paragraph:
                yield "paragraph", " ".join(paragraph)
                paragraph = []
            if kind:
                yield kind, line.split(" ", 1)[1]
        else:
            paragraph.append(line)
    if paragraph:
        yield "paragraph", " ".join(paragraph)


def render_pdf(letter: Letter, entity: dict[str, Any], today: date) -> bytes:
    """One letter as a PDF: letterhead, date, address block, reference, the text."""
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import letter as page_size
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    body = ParagraphStyle(
        "body", parent=styles["BodyText"], fontSize=10.5, leading=14, spaceAfter=6
    )
    head = ParagraphStyle(
        "head", parent=body, fontName="Helvetica-Bold", spaceBefore=6, spaceAfter=3
    )
    title = ParagraphStyle(
        "title", parent=body, fontName="Helvetica-Bold", fontSize=14, leading=18, spaceAfter=10
    )
    small = ParagraphStyle("small", parent=body, fontSize=9, leading=11, textColor="#444444")
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=page_size,
        leftMargin=inch,
        rightMargin=inch,
        topMargin=0.8 * inch,
        bottomMargin=0.8 * inch,
        title="Notice",
        author=entity["name"],
    )
    when = longdate(today) if letter.language == "en" else fecha(today)
    flow: list[Any] = [
        Paragraph(f"<b>{escape(entity['name'])}</b>", body),
        Paragraph(
            escape(f"{entity['address']}, {entity['city']}, {entity['state']} {entity['zip']}"),
            small,
        ),
        Spacer(1, 14),
        Paragraph(escape(when), body),
        Paragraph(
            "<br/>".join(escape(x) for x in [letter.name, *letter.address.split(", ", 1)]), body
        ),
        Paragraph(
            escape(
                ("Reference: " if letter.language == "en" else "Referencia: ") + letter.reference
            ),
            small,
        ),
        Spacer(1, 10),
    ]
    items: list[Any] = []
    for kind, text in _blocks(letter.text):
        if kind != "item" and items:
            flow.append(ListFlowable(items, bulletType="bullet", leftIndent=12, bulletFontSize=8))
            items = []
        if kind == "title":
            flow.append(Paragraph(escape(text), title))
        elif kind == "heading":
            flow.append(Paragraph(escape(text), head))
        elif kind == "item":
            items.append(ListItem(Paragraph(escape(text), body), leftIndent=12))
        else:
            flow.append(Paragraph(escape(text), body))
    if items:
        flow.append(ListFlowable(items, bulletType="bullet", leftIndent=12, bulletFontSize=8))
    doc.build(flow)
    return buffer.getvalue()
