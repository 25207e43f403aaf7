"""Synthetic case documents for the demo and benchmarks: a photo-ID card image, a signed
forgery affidavit and a police report, each marked SYNTHETIC and naming only the made-up
person they are given."""

from __future__ import annotations

import io
from datetime import date

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas


def photo_id(name: str, dob: date | None) -> bytes:
    """A JPEG of an ID card."""
    card = Image.new("RGB", (640, 400), (232, 238, 246))
    draw = ImageDraw.Draw(card)
    big, small = ImageFont.load_default(size=34), ImageFont.load_default(size=22)
    draw.rectangle((24, 90, 214, 330), fill=(180, 192, 210))
    draw.text((24, 24), "STATE ID - SYNTHETIC", fill=(20, 40, 80), font=big)
    draw.text((240, 110), name, fill=(0, 0, 0), font=small)
    draw.text(
        (240, 150), f"DOB {dob.isoformat() if dob else 'unknown'}", fill=(0, 0, 0), font=small
    )
    out = io.BytesIO()
    card.save(out, "JPEG", quality=85)
    return out.getvalue()


def _letter(title: str, lines: list[str]) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=letter)
    page.setFont("Helvetica-Bold", 16)
    page.drawString(72, 720, title)
    page.setFont("Helvetica", 11)
    for i, line in enumerate(["SYNTHETIC DOCUMENT - demo data only", "", *lines]):
        page.drawString(72, 690 - 16 * i, line)
    page.save()
    return out.getvalue()


def affidavit(name: str, occurred: str) -> bytes:
    """A PDF forgery affidavit signed by the victim."""
    return _letter(
        "Identity theft / forgery affidavit",
        [
            f"I, {name}, state that I did not receive the care billed on {occurred},",
            "and that I did not authorise anyone to use my name or identifiers to obtain it.",
            "",
            f"Signed: {name}",
        ],
    )


def police_report(name: str, occurred: str) -> bytes:
    """A PDF police report of the identity theft."""
    return _letter(
        "Police report - identity theft",
        [
            f"Complainant: {name}",
            f"Offence: identity theft (medical), on or about {occurred}",
            "Report number: SYN-0000",
        ],
    )
