"""Recognizers for what a breach exposes: SSN (with the SSA's rules), date of birth, MRN
(the hospital's format), driver's licence, insurance member or policy id, phone, e-mail,
street address and diagnosis codes. This is the fast regex path; the scan can hand the
same text to Presidio with these recognizers registered (issue 15 continues).

Bare numbers and dates are where pattern matching goes wrong, so every recognizer that
could match one needs **context**: a cue word near the match ("DOB", "SSN", "member id")
on the same line, or in the header of the column the value sits in (a CSV or spreadsheet
row has its cue in the first line); a cue elsewhere in the document scores lower (a PDF
table read back one cell a line). Each finding carries a score; below :data:`THRESHOLD`
it is dropped. Linking to the patient index (next) is what confirms a bare MRN or date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from phiwarden.breach.licences import fits_a_state

THRESHOLD = 0.5
#: how far before a match (characters) a cue word still counts on the same line
WINDOW = 40


@dataclass(frozen=True)
class Hit:
    """One recognised value: which element, where in the text, and how sure."""

    element: str
    start: int
    end: int
    value: str
    score: float

    @property
    def normal(self) -> str:
        """The value in one form for matching: digits of an SSN, phone or MRN, a date as
        YYYY-MM-DD, an e-mail in lower case, anything else as written."""
        if self.element in ("ssn", "phone", "mrn"):
            return re.sub(r"\D", "", self.value)
        if self.element == "dob":
            return iso_date(self.value) or self.value
        if self.element == "email":
            return self.value.lower()
        return self.value


_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def iso_date(text: str) -> str | None:
    """A date as YYYY-MM-DD from the forms DATE matches (two-digit years: 19xx if that is
    not in the future, else 20xx), or None."""
    from datetime import date

    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text).isoformat()
        m = re.fullmatch(r"(\d{1,2})[/-](\d{1,2})[/-](\d{2,4})", text)
        if m:
            month, day, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        else:
            m = re.fullmatch(r"([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2}),\s+(\d{4})", text)
            if not m:
                return None
            month, day, year = _MONTHS[m.group(1).lower()], int(m.group(2)), int(m.group(3))
        if year < 100:
            year += 1900 if 1900 + year <= date.today().year else 2000
        return date(year, month, day).isoformat()
    except (ValueError, KeyError):
        return None


def _cues(*words: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(words) + r")(?![A-Za-z])", re.IGNORECASE)


SSN_CUE = _cues(
    r"ssn", r"ss#", r"soc(?:ial)?\.?\s*sec(?:urity)?(?:\s*(?:no|number|#))?", r"ss\s*no"
)
DOB_CUE = _cues(r"dob", r"d\.o\.b\.?", r"date\s+of\s+birth", r"birth\s*date", r"birthdate", r"born")
MRN_CUE = _cues(
    r"mrn", r"medical\s+record(?:\s+(?:no|number|#))?", r"med\s*rec", r"chart\s*(?:no|#|number)?"
)
MEMBER_CUE = _cues(
    r"member\s*(?:id|#|no|number)?",
    r"policy\s*(?:id|#|no|number)?",
    r"subscriber\s*(?:id|#)?",
    r"insurance\s*(?:id|#)",
)
DL_CUE = _cues(
    r"driver'?s?\s*licen[cs]e(?:\s*(?:no|number|#))?",
    r"dl\s*(?:no|#|number)?",
    r"licen[cs]e\s*(?:no|#|number)",
)
DX_CUE = _cues(r"diagnosis", r"dx", r"icd(?:-?10)?(?:-cm)?", r"assessment", r"impression")

SSN = re.compile(
    r"(?<![\d-])(?!000|666|9\d\d)(\d{3})([- ]?)(?!00)(\d{2})\2(?!0000)(\d{4})(?![\d-])"
)
DATE = re.compile(
    r"(?<!\d)(?:(?:0?[1-9]|1[0-2])[/-](?:0?[1-9]|[12]\d|3[01])[/-](?:19|20)?\d{2}"
    r"|(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},\s+(?:19|20)\d{2})(?!\d)"
)
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
PHONE = re.compile(r"(?<!\d)(?:\+?1[ .-]?)?(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?!\d)")
#: the common USPS street suffixes (Publication 28, appendix C1), written out or abbreviated
STREET_SUFFIXES = (
    "St|Street|Ave|Avenue|Rd|Road|Dr|Drive|Ln|Lane|Blvd|Boulevard|Ct|Court|Way|Pl|Place"
    "|Pkwy|Parkway|Cir|Circle|Ter|Terrace|Hwy|Highway|Run|Path|Trl|Trail|Loop|Row|Sq|Square"
    "|Pike|Plz|Plaza|Aly|Alley|Xing|Crossing|Cv|Cove|Pt|Point|Holw|Hollow|Rdg|Ridge|Vw|View"
    "|Walk|Pass|Bnd|Bend|Crk|Creek|Grn|Green|Hts|Heights|Hl|Hill|Lk|Lake|Mdw|Meadow|Mnr|Manor"
    "|Park|Trce|Trace|Vly|Valley|Expy|Expressway|Fwy|Freeway|Broadway"
)
ADDRESS = re.compile(
    r"\b\d{1,6}\s+(?:[NSEW]\.?\s+)?(?:(?:[A-Z][a-z]+|\d+(?:st|nd|rd|th))\s+){0,3}"
    rf"(?:{STREET_SUFFIXES})\b\.?(?:,?\s+(?:Apt|Unit|Ste|Suite|#)\.?\s*[A-Za-z0-9-]+)?"
)
ICD10 = re.compile(r"(?<![A-Za-z0-9])[A-TV-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?(?![A-Za-z0-9])")
IDENT = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9-]{4,18}[A-Za-z0-9](?![A-Za-z0-9])"
)


_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Line:
    """One line of text, with the header cue of each of its cells when it is a table row."""

    start: int
    text: str
    cells: tuple[tuple[int, int, str], ...]  # (start, end, header) per cell


def lines(text: str) -> Iterator[Line]:
    """Lines, and for tab- or comma-separated tables each cell's column header."""
    header: list[str] | None = None
    sep: str | None = None
    offset = 0
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        here = "\t" if line.count("\t") >= 2 else "," if line.count(",") >= 3 else None
        cells: list[tuple[int, int, str]] = []
        if here and sep == here and header is not None:
            at = 0
            for i, cell in enumerate(line.split(here)):
                cells.append((at, at + len(cell), header[i] if i < len(header) else ""))
                at += len(cell) + 1
        elif here:
            header, sep = line.split(here), here  # the first row of a table names its columns
        else:
            header, sep = None, None
        yield Line(offset, line, tuple(cells))
        offset += len(raw)


def _cued(line: Line, start: int, cue: re.Pattern[str]) -> bool:
    """A cue word before ``start`` on the line, or in the header of the cell holding it."""
    for a, b, head in line.cells:
        if a <= start < b:
            return bool(cue.search(head))
    before = line.text[max(0, start - WINDOW) : start]
    return bool(cue.search(before))


def _nearest(line: Line, start: int, cues: dict[str, re.Pattern[str]]) -> str | None:
    """Which cue is closest before ``start`` (or heads its column): an identifier after
    "Driver's license" is a licence even when "Member ID" came earlier on the line."""
    for a, b, head in line.cells:
        if a <= start < b:
            return next((element for element, cue in cues.items() if cue.search(head)), None)
    before = line.text[max(0, start - WINDOW) : start]
    best: tuple[int, str] | None = None
    for element, cue in cues.items():
        for found in cue.finditer(before):
            if best is None or found.end() > best[0]:
                best = (found.end(), element)
    return best[1] if best else None


def recognize(text: str, mrn_pattern: str = r"\d{6,10}") -> list[Hit]:
    """Every element found in ``text`` at or above the threshold, in text order."""
    mrn = re.compile(rf"(?<![A-Za-z0-9]){mrn_pattern}(?![A-Za-z0-9])")
    # A table that lost its layout (a PDF roster read as one cell a line) keeps its cue only
    # in a header far above: a cue anywhere in the document counts, at a lower score.
    anywhere = {
        "dob": 0.55 if DOB_CUE.search(text) else 0.1,
        "mrn": 0.6 if MRN_CUE.search(text) else 0.1,
    }
    hits: list[Hit] = []
    for line in lines(text):
        taken: list[tuple[int, int]] = []

        def add(
            element: str,
            m: re.Match[str],
            score: float,
            line: Line = line,
            taken: list[tuple[int, int]] = taken,
        ) -> None:
            a, b = m.start(), m.end()
            if score >= THRESHOLD and not any(a < y and x < b for x, y in taken):
                taken.append((a, b))
                hits.append(Hit(element, line.start + a, line.start + b, m.group(0), score))

        if "@" in line.text:
            for m in EMAIL.finditer(line.text):
                add("email", m, 0.9)
        if not _DIGIT.search(line.text):
            continue  # every other element has a digit in it
        for m in SSN.finditer(line.text):
            dashed = bool(m.group(2))
            cued = _cued(line, m.start(), SSN_CUE)
            add("ssn", m, (0.6 if dashed else 0.2) + (0.35 if cued else 0.0))
        for m in DATE.finditer(line.text):
            add("dob", m, 0.85 if _cued(line, m.start(), DOB_CUE) else anywhere["dob"])
        for m in PHONE.finditer(line.text):
            add("phone", m, 0.7)
        cues = {"insurance": MEMBER_CUE, "drivers_license": DL_CUE, "mrn": MRN_CUE}
        for m in IDENT.finditer(line.text):
            element = _nearest(line, m.start(), cues)
            if element == "drivers_license" and not fits_a_state(m.group(0)):
                continue  # a licence has some state's layout (breach/licences.py)
            if element and element != "mrn":  # a licence or member id before a bare MRN
                add(element, m, 0.8)
        for m in mrn.finditer(line.text):
            add("mrn", m, 0.85 if _cued(line, m.start(), MRN_CUE) else anywhere["mrn"])
        for m in ADDRESS.finditer(line.text):
            add("address", m, 0.75)
        for m in ICD10.finditer(line.text):
            near = line.text[max(0, m.start() - 1) : m.end() + 1]
            cued = _cued(line, m.start(), DX_CUE) or (near.startswith("(") and near.endswith(")"))
            add("clinical", m, 0.8 if cued else 0.2)
    hits.sort(key=lambda h: h.start)
    return hits
