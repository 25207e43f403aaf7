"""Export eligibility responses as X12 005010X279A1 271 interchanges, one file per day.

A 271 is the payer's answer to an eligibility inquiry; what it says about the member's
identity (name, date of birth, sex, SSN, address, "subscriber not found", "we changed
your identifying data") is what the insurance-identity red flag compares with the
registration. Layout of each file ``271_YYYYMMDD.x12`` (all responses received that day):

- one interchange (ISA/IEA) from the clearinghouse ``PHIWARDENCH`` to the hospital
  ``PHIWARDENHOSP``, one functional group (GS ``HB``/GE), one transaction set (ST/SE) per
  response, control numbers counting up across the files in day order;
- BHT*0022*11 with the response id as reference and received_at as date and time;
- HL 20 information source ``NM1*PR`` (payer; PI id from its name), HL 21 receiver
  ``NM1*1P`` (the registering facility, SV id = facility id), HL 22 subscriber;
- ``TRN*2*<registration_id>*9PHIWARDEN`` in the loop of the person the answer is about
  (2000C, or 2000D for a dependent): the trace number echoed from the inquiry, which ties
  the answer to the registration it answers;
- 2100C ``NM1*IL*1*LAST*FIRST****MI*<member_id>``, ``REF*SY`` (SSN, digits only),
  ``REF*EJ`` (the hospital's coverage id, sent in the inquiry as the patient account
  number), N3/N4, ``AAA*N**<code>*C`` when the payer rejected the request, DMG*D8, and
  ``INS*Y*18*001*25`` when the payer changed identifying data; EB*1**30 (active coverage)
  whenever there is no AAA. For loop 2100D the subscriber loop carries the member id and
  the subscriber's name from the coverage, and HL 23 ``NM1*03`` carries the dependent's
  identity with the same REF/N3/N4/AAA/DMG, ``INS*N*<relationship>*001*25``, EB.

Values are made safe for X12: accents are folded to ASCII, separators (``* ~ ^ :``) and
line breaks become spaces. Segments end in ``~`` plus a newline; ISA is fixed width.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

from phiwarden.domain import canonical as c
from phiwarden.synth.export_io import Row, load_rows

SENDER_ID = "PHIWARDENCH"
RECEIVER_ID = "PHIWARDENHOSP"
TRACE_ORIGINATOR = "9PHIWARDEN"
VERSION = "005010X279A1"
Segment = list[str]

_DEPENDENT_RELATIONSHIP = {"spouse": "01", "child": "19", "parent": "19", "self": "18"}


def clean(value: object) -> str:
    """An element value: ASCII, no separators or line breaks, trimmed."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[*~^:\r\n]+", " ", text).strip()


def _d8(value: date) -> str:
    return value.strftime("%Y%m%d")


def _sex(value: str | None) -> str:
    code = (value or "").strip().upper()[:1]
    return code if code in ("F", "M") else "U"


def _payer_id(payer: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", clean(payer).upper())[:10] or "PAYER"


def segment_text(seg: Segment) -> str:
    """Join elements with ``*``, dropping trailing empty elements, and end with ``~``."""
    elements = list(seg)
    while elements and elements[-1] == "":
        elements.pop()
    return "*".join(elements) + "~"


def _identity(r: Row) -> list[Segment]:
    """REF/N3/N4/AAA/DMG of the person the response describes (2100C or 2100D)."""
    segs: list[Segment] = []
    ssn = re.sub(r"\D", "", r.get("ssn") or "")
    if ssn:
        segs.append(["REF", "SY", ssn])
    if r.get("coverage_id"):
        segs.append(["REF", "EJ", clean(r["coverage_id"])])
    if r.get("address_line"):
        segs.append(["N3", clean(r["address_line"])])
    if r.get("city") or r.get("state") or r.get("zip"):
        segs.append(["N4", clean(r.get("city")), clean(r.get("state")), clean(r.get("zip"))])
    if r.get("aaa_code"):
        segs.append(["AAA", "N", "", clean(r["aaa_code"]), "C"])
    if r.get("dob") or r.get("sex"):
        segs.append(["DMG", "D8", _d8(r["dob"]) if r.get("dob") else "", _sex(r.get("sex"))])
    return segs


def transaction(
    r: Row, number: int, receiver: tuple[str, str], subscriber: Row | None
) -> list[Segment]:
    """One ST..SE transaction set for one eligibility response."""
    received: datetime = r["received_at"]
    dependent = (r.get("loop") or "").upper() == "2100D"
    trace = (
        [["TRN", "2", clean(r["registration_id"]), TRACE_ORIGINATOR]]
        if r.get("registration_id")
        else []
    )
    benefit = [] if r.get("aaa_code") else [["EB", "1", "", "30"]]
    segs: list[Segment] = [
        ["ST", "271", f"{number:04d}", VERSION],
        ["BHT", "0022", "11", clean(r["response_id"]), _d8(received), received.strftime("%H%M%S")],
        ["HL", "1", "", "20", "1"],
        [
            "NM1",
            "PR",
            "2",
            clean(r.get("payer")),
            "",
            "",
            "",
            "",
            "PI",
            _payer_id(r.get("payer") or ""),
        ],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "1P", "2", receiver[0], "", "", "", "", "SV", receiver[1]],
        ["HL", "3", "2", "22", "1" if dependent else "0"],
    ]
    member = clean(r["member_id"])
    if not dependent:
        segs += trace
        segs.append(
            [
                "NM1",
                "IL",
                "1",
                clean(r.get("last_name")),
                clean(r.get("first_name")),
                "",
                "",
                "",
                "MI",
                member,
            ]
        )
        segs += _identity(r)
        if r.get("ins_changed"):
            segs.append(["INS", "Y", "18", "001", "25"])
        segs += benefit
    else:
        sub = subscriber or {}
        segs.append(
            [
                "NM1",
                "IL",
                "1",
                clean(sub.get("subscriber_last_name")),
                clean(sub.get("subscriber_first_name")),
                "",
                "",
                "",
                "MI",
                member,
            ]
        )
        segs += [
            ["HL", "4", "3", "23", "0"],
            *trace,
            ["NM1", "03", "1", clean(r.get("last_name")), clean(r.get("first_name"))],
        ]
        segs += _identity(r)
        if r.get("ins_changed"):
            rel = (sub.get("subscriber_relationship") or "").strip().lower()
            segs.append(["INS", "N", _DEPENDENT_RELATIONSHIP.get(rel, "G8"), "001", "25"])
        segs += benefit
    segs.append(["SE", str(len(segs) + 1), f"{number:04d}"])
    return segs


def isa_segment(control: int, when: datetime) -> str:
    """The fixed-width ISA header (106 characters with its terminator)."""
    return segment_text(
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            f"{SENDER_ID:<15}",
            "ZZ",
            f"{RECEIVER_ID:<15}",
            when.strftime("%y%m%d"),
            when.strftime("%H%M"),
            "^",
            "00501",
            f"{control:09d}",
            "0",
            "P",
            ":",
        ]
    )


def interchange(
    responses: list[Row],
    control: int,
    receivers: dict[str, tuple[str, str]],
    coverages: dict[str, Row],
) -> str:
    """A complete ISA..IEA interchange holding one transaction set per response."""
    when = max(r["received_at"] for r in responses)
    lines = [
        isa_segment(control, when),
        segment_text(
            [
                "GS",
                "HB",
                SENDER_ID,
                RECEIVER_ID,
                _d8(when),
                when.strftime("%H%M"),
                str(control),
                "X",
                VERSION,
            ]
        ),
    ]
    default = ("PHIWARDEN SYNTHETIC HOSPITAL", "PHIWARDEN")
    for number, r in enumerate(responses, start=1):
        receiver = receivers.get(r.get("registration_id") or "", default)
        subscriber = coverages.get(r.get("coverage_id") or "")
        lines += [segment_text(s) for s in transaction(r, number, receiver, subscriber)]
    lines.append(segment_text(["GE", str(len(responses)), str(control)]))
    lines.append(segment_text(["IEA", "1", f"{control:09d}"]))
    return "\n".join(lines) + "\n"


def write_x12(canonical_dir: Path, out_dir: Path) -> int:
    """Write ``271_YYYYMMDD.x12`` per day of ``received_at``; return responses written.

    Responses without ``received_at`` have no day to file them under and are skipped.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    facilities = {f["facility_id"]: f for f in load_rows(canonical_dir, c.FACILITIES)}
    receivers: dict[str, tuple[str, str]] = {}
    for reg in load_rows(canonical_dir, c.REGISTRATIONS):
        fac = facilities.get(reg.get("facility_id") or "")
        if fac is not None:
            receivers[reg["registration_id"]] = (clean(fac["name"]), clean(fac["facility_id"]))
    coverages = {cov["coverage_id"]: cov for cov in load_rows(canonical_dir, c.COVERAGES)}
    by_day: dict[date, list[Row]] = defaultdict(list)
    for r in load_rows(canonical_dir, c.ELIGIBILITY_RESPONSES):
        if r.get("received_at") is not None:
            by_day[r["received_at"].date()].append(r)
    written = 0
    for control, day in enumerate(sorted(by_day), start=1):
        responses = sorted(by_day[day], key=lambda r: (r["received_at"], r["response_id"]))
        text = interchange(responses, control, receivers, coverages)
        (out_dir / f"271_{day:%Y%m%d}.x12").write_text(text, encoding="ascii", newline="\n")
        written += len(responses)
    return written
