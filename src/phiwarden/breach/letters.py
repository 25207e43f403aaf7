"""The notification letters: one PDF per person to notify, from editable Jinja2 templates
(``breach/templates/letter_en.md.j2`` and ``letter_es.md.j2``; a hospital's copies in
``CONFIG/letters/`` win), and the mailing list.

Each letter carries the content of 45 CFR 164.404(c) for *this* person (the kinds of
information exposed about them), the headings and items the person's state requires,
a credit-monitoring offer with a unique enrolment code only where their SSN (or what their
state names) was exposed, and a reference code the call centre can look up. The deceased
get the next-of-kin variant and minors the guardian variant. Duplicates (one name at one
USPS-normalised address) are removed. ``letter_pdf`` lays a letter out as a PDF and
``mailing`` writes them with the mailing lists.

ReportLab renders the PDFs (already a dependency for the case documents): it draws a
letter in a few milliseconds without a browser engine, where WeasyPrint needs Pango and
would have been a new system dependency for the same result.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import Connection, select

from phiwarden.breach.decision import outcome_for
from phiwarden.breach.hhs import hospital
from phiwarden.breach.law import all_states
from phiwarden.breach.scope import scope
from phiwarden.identity.addresses import usps_form
from phiwarden.store.repositories import domain_table
from phiwarden.store.sensitive import Protector

HEADINGS = (
    "Notice of Data Breach",
    "What Happened?",
    "What Information Was Involved?",
    "What We Are Doing.",
    "What You Can Do.",
    "For More Information.",
)
HEADINGS_ES = (
    "Aviso de violación de datos",
    "¿Qué sucedió?",
    "¿Qué información estuvo involucrada?",
    "Qué estamos haciendo",
    "Qué puede hacer usted",
    "Más información",
)
KINDS = {
    "name": ("your name", "su nombre"),
    "dob": ("date of birth", "fecha de nacimiento"),
    "ssn": ("Social Security number", "número de Seguro Social"),
    "drivers_license": ("driver's license number", "número de licencia de conducir"),
    "insurance": ("health insurance information", "información del seguro médico"),
    "mrn": ("medical record number", "número de historia clínica"),
    "address": ("address", "dirección"),
    "phone": ("telephone number", "número de teléfono"),
    "email": ("e-mail address", "correo electrónico"),
    "clinical": (
        "health information such as a diagnosis",
        "información de salud, como un diagnóstico",
    ),
    "financial_account": ("financial account number", "número de cuenta financiera"),
}
#: what exposes a person to identity theft enough to offer credit monitoring (seed 004)
CREDIT_WHEN = {"ssn"}
MONTHS_EN = "January February March April May June July August September October November December"
MONTHS_ES = (
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
)


def longdate(value: Any) -> str:
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{MONTHS_EN.split()[day.month - 1]} {day.day}, {day.year}"


def fecha(value: Any) -> str:
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{day.day} de {MONTHS_ES.split()[day.month - 1]} de {day.year}"


def _sentence(text: Any) -> str:
    """Text ending in a full stop."""
    words = str(text).strip()
    return words if not words or words[-1] in ".!?" else words + "."


def _listing(items: list[str], last: str = "and") -> str:
    """ "a, b and c"."""
    items = list(items)
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def templates(config: Path | None) -> jinja2.Environment:
    """The letter templates: the hospital's own first (``CONFIG/letters``), then ours."""
    loaders: list[jinja2.BaseLoader] = []
    if config is not None and (config / "letters").is_dir():
        loaders.append(jinja2.FileSystemLoader(str(config / "letters")))
    loaders.append(jinja2.PackageLoader("phiwarden.breach", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["longdate"] = longdate
    env.filters["fecha"] = fecha
    env.filters["sentence"] = _sentence
    env.filters["listing"] = _listing
    return env


def code(protector: Protector, purpose: str, incident_id: str, person: str, size: int) -> str:
    """A code unique to one person in one incident, not guessable without the key."""
    digest = hmac.new(
        protector.hmac_key, f"{purpose}|{incident_id}|{person}".encode(), hashlib.sha256
    ).digest()
    text = base64.b32encode(digest).decode().rstrip("=").replace("O", "8").replace("I", "9")
    body = text[:size]
    return "-".join(body[i : i + 4] for i in range(0, len(body), 4))


@dataclass
class Letter:
    """One letter to write: who, where, which variant, and its text."""

    reference: str
    person: str
    name: str
    address: str
    state: str | None
    variant: str
    language: str
    elements: list[str]
    credit_code: str | None
    text: str = ""
    usable_address: bool = True


@dataclass
class Batch:
    """What ``prepare`` found: the letters, and those that could not be mailed."""

    letters: list[Letter] = field(default_factory=list)
    insufficient: list[Letter] = field(default_factory=list)
    duplicates: int = 0


def _patients(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    p = domain_table("patients")
    rows: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 5_000):
        for r in conn.execute(
            select(
                p.c.patient_id,
                p.c.first_name,
                p.c.last_name,
                p.c.address_line,
                p.c.city,
                p.c.state,
                p.c.zip,
                p.c.dob,
                p.c.deceased_date,
            ).where(p.c.patient_id.in_(ids[start : start + 5_000]))
        ).mappings():
            rows[str(r["patient_id"])] = dict(r)
    return rows


def prepare(
    conn: Connection,
    incident: dict[str, Any],
    protector: Protector,
    *,
    config: Path | None = None,
    language: str = "en",
    today: date | None = None,
) -> Batch:
    """The letters of a decided incident, rendered to their text."""
    if language not in ("en", "es"):
        raise ValueError(f"letters are in en or es, not {language!r}")
    details = incident["case"]["details"]
    decision = details.get("decision")
    if not decision:
        raise ValueError(
            f"{incident['incident']} has no breach decision yet: record it with "
            "'phiwarden breach decide'"
        )
    on = today or date.today()
    found = scope(conn, incident["incident"])
    homes = _patients(conn, [p["patient_id"] for p in found["people"]])
    notice = hospital(config)
    states = all_states(config)
    env = templates(config)
    template = env.get_template(f"letter_{language}.md.j2")
    batch = Batch()
    seen: set[tuple[str, str]] = set()
    for person in found["people"]:
        elements = set(person["elements"])
        if outcome_for(decision, elements)[0] != "breach":
            continue
        home = homes.get(person["patient_id"], {})
        name = " ".join(x for x in (home.get("first_name"), home.get("last_name")) if x)
        line = usps_form(
            home.get("address_line") or "", home.get("city"), home.get("state"), home.get("zip")
        )
        state = str(home.get("state") or "").upper() or None
        law = states.get(state or "")
        variant = "self"
        if home.get("deceased_date"):
            variant = "next_of_kin"
        elif home.get("dob") and (on - home["dob"]).days < 18 * 365.25:
            variant = "guardian"
        credit_when = set(CREDIT_WHEN)
        if law is not None and law.credit_monitoring and law.credit_monitoring.required:
            credit_when |= {
                "drivers_license" if e == "state_id" else e
                for e in law.credit_monitoring.when_exposed
            }
        offer = bool(elements & credit_when)
        letter = Letter(
            reference=code(protector, "ref", incident["incident"], person["patient_id"], 8),
            person=person["patient_id"],
            name=name or person["name"],
            address=line or "",
            state=state,
            variant=variant,
            language=language,
            elements=sorted(elements),
            credit_code=code(protector, "enrol", incident["incident"], person["patient_id"], 12)
            if offer
            else None,
            usable_address=bool(line),
        )
        key = (" ".join(letter.name.upper().split()), letter.address)
        if letter.usable_address and key in seen:
            batch.duplicates += 1
            continue
        seen.add(key)
        credit = None
        if letter.credit_code:
            months = max(
                int(notice["credit_monitoring"]["months"]),
                law.credit_monitoring.months if law and law.credit_monitoring else 0,
            )
            credit = {
                **notice["credit_monitoring"],
                "months": months,
                "code": letter.credit_code,
                "enrol_by": on + timedelta(days=int(notice["credit_monitoring"]["enrol_by_days"])),
            }
        headings = (
            list(law.letter.headings)
            if law and law.letter and law.letter.headings
            else list(HEADINGS)
        )
        letter.text = template.render(
            person={"name": letter.name},
            variant=variant,
            entity=notice["covered_entity"],
            contact=notice["contact"],
            incident=incident,
            delayed=bool(details.get("law_enforcement_delay")),
            elements=elements,
            kinds=[KINDS[e][0] for e in KINDS if e in elements],
            kinds_es=[KINDS[e][1] for e in KINDS if e in elements],
            headings=headings if len(headings) == 6 else list(HEADINGS),
            headings_es=list(HEADINGS_ES),
            credit=credit,
            state_items=list(law.letter.items) if law and law.letter else [],
            reference=letter.reference,
        )
        (batch.letters if letter.usable_address else batch.insufficient).append(letter)
    return batch
