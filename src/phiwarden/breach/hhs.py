"""The report to the Secretary of HHS (45 CFR 164.408), field for field as the OCR breach
portal's form asks, built from the incident, its decision, its scope and the hospital's
own details (``notice.toml``, overridden by ``CONFIG/breach.toml``)."""

from __future__ import annotations

import csv
import io
import tomllib
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from phiwarden.breach.obligations import compute, residence_summary

#: the portal's kinds of PHI, and the scan's elements in each
PHI_TYPES: dict[str, tuple[str, ...]] = {
    "Demographic": ("name", "dob", "ssn", "drivers_license", "address", "phone", "email", "mrn"),
    "Financial": ("financial_account",),
    "Clinical": ("clinical",),
    "Other": ("insurance",),
}
#: the portal's own wording for the demographic items
ITEMS = {
    "name": "Name",
    "dob": "Date of Birth",
    "ssn": "SSN",
    "drivers_license": "Driver's License",
    "address": "Address/ZIP",
    "phone": "Other Identifier",
    "email": "Other Identifier",
    "mrn": "Other Identifier",
    "financial_account": "Credit Card/Bank Acct #",
    "clinical": "Diagnosis/Conditions",
    "insurance": "Health plan member or policy number",
}


def hospital(config: Path | None = None) -> dict[str, Any]:
    """The hospital's details for notices: CONFIG/breach.toml over the shipped defaults."""
    data = tomllib.loads(resources.files("phiwarden.breach").joinpath("notice.toml").read_text())
    own = config / "breach.toml" if config else None
    if own is not None and own.exists():
        for section, values in tomllib.loads(own.read_text()).items():
            data.setdefault(section, {}).update(values)
    return data


def report(
    conn: Connection, incident: dict[str, Any], config: Path | None = None
) -> dict[str, Any]:
    """Every field of the HHS breach report for one decided incident."""
    items, people = compute(conn, incident, config=config)
    details = incident["case"]["details"]
    decision = details["decision"]
    entity = hospital(config)
    kinds = {o.kind for o in items}
    counted = Counter(
        e for rows in people.by_state.values() for r in rows for e in r["elements"]
    ) + Counter(e for r in people.unknown for e in r["elements"])
    phi = {
        kind: sorted({ITEMS[e] for e in elements if counted.get(e)})
        for kind, elements in PHI_TYPES.items()
        if any(counted.get(e) for e in elements)
    }
    individuals = next(
        (o for o in items if o.kind == "individuals" and o.jurisdiction == "US"), None
    )
    return {
        "report_type": "Initial Breach Report",
        "covered_entity": {
            "name": entity["covered_entity"]["name"],
            "type": entity["covered_entity"]["type"],
            "street": entity["covered_entity"]["address"],
            "city": entity["covered_entity"]["city"],
            "state": entity["covered_entity"]["state"],
            "zip": entity["covered_entity"]["zip"],
            "contact_name": entity["contact"]["name"],
            "contact_phone": entity["contact"]["phone"],
            "contact_email": entity["contact"]["email"],
        },
        "business_associate_present": bool(incident.get("business_associate")),
        "breach_start_date": incident.get("occurred_from"),
        "breach_end_date": incident.get("occurred_to"),
        "discovery_date": incident["discovered"],
        "individuals_affected": people.total,
        "type_of_breach": incident["type_label"],
        "location_of_breached_information": incident["location_label"],
        "type_of_phi": phi,
        "brief_description": incident.get("description") or incident["title"],
        "safeguards_in_place_prior": incident.get("safeguards", ""),
        "individual_notice_due": individuals.due.isoformat() if individuals else None,
        "substitute_notice_required": "substitute_notice" in kinds,
        "media_notice_required": "media" in kinds,
        "media_states": sorted(o.jurisdiction for o in items if o.kind == "media"),
        "actions_taken": incident.get("actions", ""),
        "decision": {
            "outcome": decision["outcome"],
            "reason": decision["reason"],
            "decided_by": decision["decided_by"],
            "decided_at": decision["decided_at"],
        },
        "filing": "at once (500 or more)" if "hhs" in kinds else "annual log (fewer than 500)",
        "residence": residence_summary(people),
        "cite": "45 CFR 164.408",
    }


def as_csv(fields: dict[str, Any]) -> str:
    """The report as two-column CSV (field, value), nested fields flattened."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["field", "value"])

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(value, list):
            writer.writerow([prefix, "; ".join(str(v) for v in value)])
        else:
            writer.writerow([prefix, "" if value is None else value])

    walk("", fields)
    return out.getvalue()


def annual_log(conn: Connection, year: int, config: Path | None = None) -> list[dict[str, Any]]:
    """The breaches of fewer than 500 people discovered in ``year``: what is reported to
    HHS within 60 days after the year ends (164.408(c)), each with its report's fields."""
    from phiwarden.breach.incident import list_incidents

    rows = []
    for incident in list_incidents(conn, limit=100_000):
        if not incident or not str(incident["discovered"]).startswith(f"{year}-"):
            continue
        decision = incident["case"]["details"].get("decision")
        if not decision or decision["outcome"] != "breach":
            continue
        fields = report(conn, incident, config)
        if fields["individuals_affected"] < 500:
            rows.append({"incident": incident["incident"], **fields})
    return rows


#: the report's fields in the order and wording of the OCR portal's form
LABELS = (
    ("report_type", "Report type"),
    ("covered_entity.name", "Name of covered entity"),
    ("covered_entity.type", "Type of covered entity"),
    ("covered_entity.street", "Street"),
    ("covered_entity.city", "City"),
    ("covered_entity.state", "State"),
    ("covered_entity.zip", "ZIP"),
    ("covered_entity.contact_name", "Contact name"),
    ("covered_entity.contact_phone", "Contact telephone"),
    ("covered_entity.contact_email", "Contact e-mail"),
    ("business_associate_present", "Business associate involved"),
    ("breach_start_date", "Breach start date"),
    ("breach_end_date", "Breach end date"),
    ("discovery_date", "Discovery date"),
    ("individuals_affected", "Approximate number of individuals affected"),
    ("type_of_breach", "Type of breach"),
    ("location_of_breached_information", "Location of breached information"),
    ("type_of_phi", "Type of protected health information involved"),
    ("brief_description", "Brief description of the breach"),
    ("safeguards_in_place_prior", "Safeguards in place prior to the breach"),
    ("individual_notice_due", "Individual notice: to be provided by"),
    ("substitute_notice_required", "Substitute notice required"),
    ("media_notice_required", "Media notice required"),
    ("media_states", "States where media were notified"),
    ("actions_taken", "Actions taken in response"),
    ("filing", "Filing"),
)


def _value(fields: dict[str, Any], dotted: str) -> str:
    value: Any = fields
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {', '.join(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return "not recorded" if value is None or value == "" else str(value)


def as_pdf(fields: dict[str, Any]) -> bytes:
    """A printable summary of the report: every field as the portal names it, the breach
    decision that stands behind it, and where the people live."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    cell = styles["BodyText"]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=letter,
        leftMargin=0.8 * inch,
        rightMargin=0.8 * inch,
        topMargin=0.7 * inch,
        bottomMargin=0.7 * inch,
        title="Breach report to HHS",
    )
    rows = [
        [Paragraph(f"<b>{escape(label)}</b>", cell), Paragraph(escape(_value(fields, key)), cell)]
        for key, label in LABELS
    ]
    table = Table(rows, colWidths=[2.4 * inch, 4.5 * inch])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c9d3de")),
            ]
        )
    )
    decision = fields["decision"]
    residence = fields["residence"]
    where = ", ".join(f"{k} {v:,}" for k, v in list(residence["by_state"].items())[:12])
    doc.build(
        [
            Paragraph("Breach report to the Secretary of HHS (45 CFR 164.408)", styles["Title"]),
            Paragraph(
                escape(
                    f"Prepared for the OCR breach portal. Decision: {decision['outcome']}, "
                    f"by {decision['decided_by']} on {decision['decided_at'][:10]}: "
                    f"{decision['reason']}"
                ),
                cell,
            ),
            Spacer(1, 10),
            table,
            Spacer(1, 10),
            Paragraph(
                escape(
                    f"Residence of the people notified: {where}; unknown or foreign "
                    f"{residence['unknown_residence']:,}."
                ),
                cell,
            ),
        ]
    )
    return buffer.getvalue()
