"""From recognised values to affected people: each finding is linked to a patient of the
master patient index, and each person gets the set of data elements exposed about them,
the places they were found, and (for what links to no patient) an unlinked list.

A text is read in order, and each value belongs to the person most recently identified
before it in the same text: a spreadsheet row, a roster block that a PDF turned into one
cell a line, or a letter about one patient all read the same way. A person is identified
by an SSN that matches a patient's keyed hash, an MRN, an insurance member id, or a name
from the patients' own name dictionary (with the date of birth when two patients share a
name).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from phiwarden.breach.extract import Item, Text, Unscannable
from phiwarden.breach.recognizers import Hit, iso_date, recognize
from phiwarden.identity.names import clean_name
from phiwarden.store.repositories import domain_table
from phiwarden.store.sensitive import Protector

#: the exposure vocabulary a person's elements come from
ELEMENTS = (
    "name",
    "dob",
    "ssn",
    "drivers_license",
    "insurance",
    "mrn",
    "address",
    "phone",
    "email",
    "clinical",
    "financial_account",
)
#: a capitalised word that may be part of a name
_WORD = re.compile(r"[A-Z][a-zA-Z'\-]+")


@dataclass
class Index:
    """What the scan links to: patients by SSN hash, MRN, member id and name."""

    protector: Protector
    by_ssn: dict[str, str] = field(default_factory=dict)
    by_mrn: dict[str, str] = field(default_factory=dict)
    by_member: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, list[str]] = field(default_factory=dict)
    patients: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, engine: Engine, protector: Protector) -> Index:
        """The index from the operational store (patients and their coverages)."""
        p, cov = domain_table("patients"), domain_table("coverages")
        index = cls(protector)
        with engine.connect() as conn:
            for r in conn.execute(
                select(
                    p.c.patient_id, p.c.mrn, p.c.first_name, p.c.last_name, p.c.dob, p.c.ssn_hash
                )
            ).mappings():
                pid = str(r["patient_id"])
                index.patients[pid] = dict(r)
                index.by_mrn[str(r["mrn"])] = pid
                if r["ssn_hash"]:
                    index.by_ssn[str(r["ssn_hash"])] = pid
                first, last = clean_name(r["first_name"] or ""), clean_name(r["last_name"] or "")
                if first and last:
                    index.by_name.setdefault(f"{first} {last}", []).append(pid)
                    index.by_name.setdefault(f"{last} {first}", []).append(pid)
            for pid, member in conn.execute(select(cov.c.patient_id, cov.c.member_id)):
                if member:
                    index.by_member[re.sub(r"\W", "", str(member)).upper()] = str(pid)
        return index

    def identify(self, hit: Hit) -> str | None:
        """The patient an identifying value belongs to, if any."""
        if hit.element == "ssn":
            return self.by_ssn.get(self.protector.keyed_hash(hit.normal))
        if hit.element == "mrn":
            return self.by_mrn.get(hit.normal)
        if hit.element == "insurance":
            return self.by_member.get(re.sub(r"\W", "", hit.value).upper())
        return None


@dataclass
class Person:
    """One affected patient: what was exposed and where."""

    patient_id: str
    elements: set[str] = field(default_factory=set)
    evidence: list[tuple[str, str]] = field(default_factory=list)  # (where, element)


@dataclass
class Scope:
    """A scan's result: the people, what links to no patient, and what was not read."""

    people: dict[str, Person] = field(default_factory=dict)
    unlinked: list[dict[str, Any]] = field(default_factory=list)
    unscannable: list[dict[str, str]] = field(default_factory=list)
    texts: int = 0


def _names(text: str, index: Index) -> list[tuple[int, int, list[str]]]:
    """(start, end, patient ids) of each patient name written in the text: "First Last",
    "First Middle Last" or "Last, First", within one line and one table cell."""
    found = []
    words = list(_WORD.finditer(text))
    for i, first in enumerate(words):
        for j in (i + 1, i + 2):
            if j >= len(words):
                break
            between = text[first.end() : words[j].start()]
            if j == i + 2:
                middle = text[words[i + 1].start() : words[i + 1].end()]
                gap = (
                    text[first.end() : words[i + 1].start()]
                    + text[words[i + 1].end() : words[j].start()]
                )
                if len(middle) > 12 or gap.strip(" .") or "  " in gap:
                    break
            elif between not in (" ", ", ", ". "):
                break
            key = f"{clean_name(first.group(0))} {clean_name(words[j].group(0))}"
            if key in index.by_name:
                found.append((first.start(), words[j].end(), index.by_name[key]))
                break
    return found


def _dob_near(text: str, at: int, hits: list[Hit]) -> str | None:
    after = [h for h in hits if h.element == "dob" and h.start >= at]
    return iso_date(after[0].value) if after else None


def link_text(item: Text, index: Index, scope: Scope) -> None:
    """Link the values of one text to patients and add them to the scope. Of a message's
    headers only the subject is read: senders and recipients are the workforce."""
    scope.texts += 1
    if item.where.endswith("/headers"):
        subject = [line for line in item.text.splitlines() if line.startswith("Subject:")]
        item = Text(item.where, "\n".join(subject))
    hits = recognize(item.text)
    events: list[tuple[int, str, str | None]] = []  # (position, kind, patient id)
    for start, _end, pids in _names(item.text, index):
        if len(pids) > 1:
            dob = _dob_near(item.text, start, hits)
            pids = [p for p in pids if dob and str(index.patients[p]["dob"]) == dob] or pids
        events.append((start, "name", pids[0] if len(pids) == 1 else None))
    for hit in hits:
        pid = index.identify(hit)
        events.append((hit.start, "id" if pid else hit.element, pid))
    current: str | None = None
    by_pos = {h.start: h for h in hits}
    for position, kind, pid in sorted(events, key=lambda e: (e[0], e[1] != "name")):
        if pid is not None:
            current = pid
        found = by_pos.get(position)
        if kind == "name":
            if pid is not None:
                _expose(scope, pid, "name", item.where)
            continue
        if found is None:
            continue
        owner = pid or current
        if owner is None:
            if found.element in ("ssn", "drivers_license", "insurance"):
                scope.unlinked.append({"element": found.element, "where": item.where})
            continue
        _expose(scope, owner, found.element, item.where)


def _expose(scope: Scope, patient_id: str, element: str, where: str) -> None:
    person = scope.people.setdefault(patient_id, Person(patient_id))
    person.elements.add(element)
    person.evidence.append((where, element))


def scope_items(items: Iterable[Item], index: Index) -> Scope:
    """The affected people of every item a walk produced."""
    scope = Scope()
    for item in items:
        if isinstance(item, Unscannable):
            scope.unscannable.append({"where": item.where, "reason": item.reason})
        else:
            link_text(item, index, scope)
    return scope
