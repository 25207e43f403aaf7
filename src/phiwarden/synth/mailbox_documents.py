"""Office documents for the phished-mailbox case: PDF, DOCX, XLSX and CSV attachments.

Each builder returns the file's bytes and is deterministic: reportlab runs with
``invariant=1`` (fixed creation date and document id), and DOCX/XLSX packages are
rewritten with fixed ZIP entry times and fixed ``created``/``modified`` core properties,
so the same inputs give byte-identical files. Also here: the per-patient values that the
canonical tables do not hold (a driver's licence number and a diagnosis), derived from a
keyed hash so they are stable for a patient and seed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

from docx import Document
from docx.shared import Pt
from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

DIAGNOSES: tuple[str, ...] = (
    "Type 2 diabetes mellitus without complications (E11.9)",
    "Essential hypertension (I10)",
    "Major depressive disorder, recurrent, moderate (F33.1)",
    "Generalized anxiety disorder (F41.1)",
    "Chronic obstructive pulmonary disease (J44.9)",
    "Opioid dependence, uncomplicated (F11.20)",
    "Alcohol use disorder, moderate (F10.20)",
    "Asthma, mild persistent (J45.30)",
    "Chronic kidney disease, stage 3 (N18.30)",
    "Heart failure, unspecified (I50.9)",
    "Bipolar disorder, current episode depressed (F31.30)",
    "Post-traumatic stress disorder, chronic (F43.12)",
    "Hypothyroidism, unspecified (E03.9)",
    "Pneumonia, unspecified organism (J18.9)",
    "Atrial fibrillation, unspecified (I48.91)",
    "Schizophrenia, unspecified (F20.9)",
)

#: Driver's licence layouts by state: (letters, digits).
_DL_LAYOUT: dict[str, tuple[int, int]] = {
    "TX": (0, 8),
    "CA": (1, 7),
    "NY": (0, 9),
    "FL": (1, 12),
    "IL": (1, 11),
    "PA": (0, 8),
    "OH": (2, 6),
    "GA": (0, 9),
    "NC": (0, 12),
    "MI": (1, 12),
    "WA": (1, 11),
    "AZ": (1, 8),
}


def _digest(*parts: object) -> bytes:
    return hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=16).digest()


def drivers_license(patient_id: str, state: str | None, seed: int) -> str:
    """A synthetic driver's licence number for a patient, in a plausible state layout."""
    letters, digits = _DL_LAYOUT.get((state or "").upper(), (1, 8))
    raw = int.from_bytes(_digest("dl", seed, patient_id), "big")
    head = "".join(chr(ord("A") + (raw >> (5 * i)) % 26) for i in range(letters))
    number = str(raw % 10**digits).zfill(digits)
    return head + number


def diagnosis(patient_id: str, seed: int) -> str:
    """A synthetic diagnosis (text with ICD-10-CM code) for a patient."""
    raw = int.from_bytes(_digest("dx", seed, patient_id), "big")
    return DIAGNOSES[raw % len(DIAGNOSES)]


@dataclass(frozen=True)
class PatientPHI:
    """What the mailbox can expose about one patient, formatted as staff would write it."""

    patient_id: str
    mrn: str
    first_name: str
    last_name: str
    dob: date
    ssn: str | None
    address: str | None
    phone: str | None
    payer: str | None
    member_id: str | None
    drivers_license: str | None
    diagnosis: str

    @property
    def name(self) -> str:
        """Full name, first then last."""
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def dob_text(self) -> str:
        """Date of birth as MM/DD/YYYY."""
        return self.dob.strftime("%m/%d/%Y")

    @property
    def insurance(self) -> str | None:
        """Payer and member id, or None without a coverage."""
        if self.payer is None or self.member_id is None:
            return None
        return f"{self.payer}, member ID {self.member_id}"

    def value(self, element: str) -> str | None:
        """The text written for one exposure element ('name', 'dob', 'ssn', ...)."""
        values: dict[str, str | None] = {
            "name": self.name,
            "dob": self.dob_text,
            "ssn": self.ssn,
            "mrn": self.mrn,
            "address": self.address,
            "phone": self.phone,
            "insurance": self.insurance,
            "drivers_license": self.drivers_license,
            "diagnosis": self.diagnosis,
        }
        return values[element]


def pdf_table(title: str, subtitle: str, headers: list[str], rows: list[list[str]]) -> bytes:
    """A landscape PDF report with a title and a table that repeats its header row."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=landscape(letter),
        invariant=1,
        title=title,
        author="phiwarden synthetic",
        leftMargin=30,
        rightMargin=30,
    )
    styles = getSampleStyleSheet()
    table = LongTable([headers, *rows], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Helvetica", 7),
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
            ]
        )
    )
    doc.build(
        [
            Paragraph(_xml_escape(title), styles["Title"]),
            Paragraph(_xml_escape(subtitle), styles["Normal"]),
            Spacer(1, 8),
            table,
        ]
    )
    return buf.getvalue()


def pdf_letter(title: str, paragraphs: list[str]) -> bytes:
    """A one-page letter (referral, prior authorisation) as PDF."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=letter, invariant=1, title=title, author="phiwarden synthetic"
    )
    styles = getSampleStyleSheet()
    story = [Paragraph(_xml_escape(title), styles["Heading2"])]
    for text in paragraphs:
        story += [Paragraph(_xml_escape(text), styles["Normal"]), Spacer(1, 6)]
    doc.build(story)
    return buf.getvalue()


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def docx_document(
    title: str, paragraphs: list[str], fields: list[tuple[str, str]], when: datetime
) -> bytes:
    """A Word document: heading, a two-column field table (label, value), paragraphs."""
    doc = Document()
    doc.styles["Normal"].font.size = Pt(10)
    doc.add_heading(title, level=1)
    if fields:
        table = doc.add_table(rows=0, cols=2)
        for label, value in fields:
            cells = table.add_row().cells
            cells[0].text, cells[1].text = label, value
    for text in paragraphs:
        doc.add_paragraph(text)
    props = doc.core_properties
    props.author = props.last_modified_by = "phiwarden synthetic"
    props.title, props.revision = title, 1
    props.created = props.modified = when
    buf = io.BytesIO()
    doc.save(buf)
    return normalise_zip(buf.getvalue(), when)


def xlsx_workbook(
    sheet: str, headers: list[str], rows: list[list[object]], when: datetime
) -> bytes:
    """An Excel workbook with one sheet; date values get a MM/DD/YYYY number format."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    ws.append(headers)
    for row in rows:
        ws.append(row)
    for column in ws.iter_cols(min_row=2):
        for cell in column:
            if isinstance(cell.value, date):
                cell.number_format = "mm/dd/yyyy"
    wb.properties.creator = wb.properties.lastModifiedBy = "phiwarden synthetic"
    wb.properties.created = when
    buf = io.BytesIO()
    wb.save(buf)
    return normalise_zip(buf.getvalue(), when)


def csv_bytes(headers: list[str], rows: list[list[str]]) -> bytes:
    """CSV with a header row, CRLF line ends as spreadsheet exports write them."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def normalise_zip(data: bytes, when: datetime) -> bytes:
    """Rewrite an OOXML package with fixed entry times and fixed core created/modified.

    python-docx and openpyxl stamp ZIP entries (and openpyxl the ``modified`` property)
    with the current time; this makes the bytes a function of the content only.
    """
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_TIMES.sub(rb"\g<1>" + stamp + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, content)
    return out.getvalue()
