"""The referral of an identity-theft case to law enforcement (seed 003 IX.3 note).

"Medical records are not to be provided to the agents. Only the name of the victim, the
name of the individual alleged to have stolen the victim's identity, if known, and the
date of the occurrence are provided." The referral is built from those three fields and
the office's contact (a casework setting), and from nothing else.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select

from phiwarden.cases.casefile import get_case
from phiwarden.cases.people import load_contacts
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

#: the only fields a referral may carry
FIELDS = ("case_id", "office", "victim_name", "alleged_thief_name", "occurrence_date")


def referral(stores: Stores, case_id: str) -> dict[str, Any]:
    """The referral's content: the case number, the office, and the three permitted facts."""
    with stores.engine.connect() as conn:
        case = get_case(conn, case_id)
        if case is None:
            raise LookupError(f"no case {case_id}")
        victims = [s["ref"] for s in case["subjects"] if s["role"] == "victim"]
        p = domain_table("patients")
        name = None
        if victims:
            row = conn.execute(
                select(p.c.first_name, p.c.last_name).where(p.c.patient_id == victims[0])
            ).first()
            if row is not None:
                name = " ".join(x for x in (row.first_name, row.last_name) if x)
    details = case["details"]
    occurred = details.get("occurred") or case["opened_at"].date().isoformat()
    contacts = load_contacts(stores.settings.hospital_config)
    return {
        "case_id": case_id,
        "office": contacts.get("law_enforcement", ""),
        "victim_name": name,
        "alleged_thief_name": details.get("offender_name") or None,
        "occurrence_date": occurred,
    }


def referral_pdf(content: dict[str, Any]) -> bytes:
    """The referral as a one-page letter."""
    out = io.BytesIO()
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(
        out,
        pagesize=letter,
        title=f"Referral {content['case_id']}",
        leftMargin=72,
        rightMargin=72,
        topMargin=72,
    )
    rows = [
        ["Victim", content["victim_name"] or "(not recorded)"],
        ["Alleged thief", content["alleged_thief_name"] or "unknown"],
        ["Date of the occurrence", content["occurrence_date"]],
    ]
    table = Table(rows, colWidths=[150, 300])
    table.setStyle(
        TableStyle(
            [("FONT", (0, 0), (0, -1), "Helvetica-Bold"), ("BOTTOMPADDING", (0, 0), (-1, -1), 8)]
        )
    )
    doc.build(
        [
            Paragraph("Referral of alleged medical identity theft", styles["Title"]),
            Paragraph(f"To: {content['office']}", styles["Normal"]),
            Paragraph(
                f"Date: {date.today().isoformat()} &nbsp; Our reference: {content['case_id']}",
                styles["Normal"],
            ),
            Spacer(1, 18),
            table,
            Spacer(1, 18),
            Paragraph(
                "As our Identity Theft Red Flags program requires, this referral carries only the "
                "name of the victim, the name of the individual alleged to have used the victim's "
                "identity (if known) and the date of the occurrence. Medical records are not "
                "provided. Please contact the Privacy Officer for anything further.",
                styles["Normal"],
            ),
        ]
    )
    return out.getvalue()
