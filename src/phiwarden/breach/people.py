"""From recognised values to affected people: each finding is linked to a patient of the
master patient index, or to an unlinked person, with a masked snippet and its offsets.

A text is read in order, and each value belongs to the person most recently identified
before it in the same text: a spreadsheet row, a roster block that a PDF turned into one
cell a line, or a letter about one patient all read the same way. A person is identified
by an SSN that matches a patient's keyed hash, an MRN, an insurance member id, or a name
from the patients' own name dictionary (told apart by the date of birth, else by the
address, when patients share a name). A name after a cue ("Name:", "Employee:") or in a
name column that is no patient's starts an **unlinked** person (an employee, a relative):
they still have to be notified. An identifier with nobody before it is unlinked on its
own, keyed by its hash.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from phiwarden.breach.extract import Item, Text, Unscannable
from phiwarden.breach.recognizers import Hit, iso_date, lines, recognize
from phiwarden.identity.addresses import address_key
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
#: a name written after a cue word: "Name: Pat Doe", "Employee: Doe, Pat"
_CUED_NAME = re.compile(
    r"(?<![A-Za-z])(?:name|patient|employee|member|subscriber|insured|guarantor)\s*[:#-]\s*"
    r"([A-Z][a-zA-Z'\-]+,?(?:\s+[A-Z][a-zA-Z'\-]*\.?){1,2})",
    re.IGNORECASE,
)
_NAME_HEADER = re.compile(r"name|patient|employee|member|insured", re.IGNORECASE)
_NAME_CELL = re.compile(r"\s*[A-Z][a-zA-Z'\-]+,?(?:\s+[A-Z][a-zA-Z'\-]*\.?){1,2}\s*")
#: how many characters of context a snippet keeps on each side
SNIPPET = 32
#: offsets kept per place, element and person
MAX_OFFSETS = 5


@dataclass
class Index:
    """What the scan links to: patients by SSN hash, MRN, member id and name."""

    protector: Protector
    by_ssn: dict[str, str] = field(default_factory=dict)
    by_mrn: dict[str, str] = field(default_factory=dict)
    by_member: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, list[str]] = field(default_factory=dict)
    patients: dict[str, dict[str, Any]] = field(default_factory=dict)
    mrn_pattern: str = r"\d{6,10}"

    @classmethod
    def load(cls, engine: Engine, protector: Protector, mrn_pattern: str | None = None) -> Index:
        """The index from the operational store (patients and their coverages)."""
        p, cov = domain_table("patients"), domain_table("coverages")
        index = cls(protector, mrn_pattern=mrn_pattern or r"\d{6,10}")
        with engine.connect() as conn:
            for r in conn.execute(
                select(
                    p.c.patient_id,
                    p.c.mrn,
                    p.c.first_name,
                    p.c.last_name,
                    p.c.dob,
                    p.c.ssn_hash,
                    p.c.address_line,
                )
            ).mappings():
                pid = str(r["patient_id"])
                index.patients[pid] = {
                    "mrn": str(r["mrn"]),
                    "first_name": r["first_name"],
                    "last_name": r["last_name"],
                    "dob": str(r["dob"])[:10] if r["dob"] else None,
                    "address": address_key(r["address_line"]) if r["address_line"] else None,
                }
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

    def stranger(self, kind: str, value: str) -> str:
        """The key of an unlinked person: a keyed hash of the name or the identifier."""
        return "u:" + self.protector.keyed_hash(f"{kind}:{value}")[:24]


@dataclass(frozen=True)
class Finding:
    """One element about one person in one place: a patient (``patient_id``) or an
    unlinked person (``person`` starting ``u:``, ``label`` naming them, masked)."""

    where: str
    element: str
    person: str
    patient_id: str | None
    label: str
    offsets: tuple[tuple[int, int], ...]
    snippet: str
    when: datetime | None
    occurrences: int = 1


def mask(element: str, value: str) -> str:
    """A value as a reviewer may see it: enough to recognise, not enough to misuse."""
    digits = re.sub(r"\D", "", value)
    if element == "ssn":
        return f"***-**-{digits[-4:]}"
    if element in ("mrn", "insurance", "drivers_license", "phone", "financial_account"):
        tail = re.sub(r"\W", "", value)[-4:]
        return f"{'•' * 4}{tail}"
    if element == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}•••@{domain}"
    if element == "address":
        return value.translate(_HIDE_DIGITS)
    if element == "name":
        words = value.replace(",", " ").split()
        return " ".join(w[:1] + "." for w in words[:-1]) + (" " + words[-1] if words else "")
    return f"[{element}]"


#: every digit as a dot: what a snippet shows of the values around the one it is about
_HIDE_DIGITS = str.maketrans("0123456789", "•" * 10)


def snippet(text: str, start: int, end: int, element: str) -> str:
    """The line around a value, the value masked and every other digit hidden."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    a, b = max(line_start, start - SNIPPET), min(line_end, end + SNIPPET)
    before = text[a:start].translate(_HIDE_DIGITS)
    after = text[end:b].translate(_HIDE_DIGITS)
    return " ".join(f"{before}{mask(element, text[start:end])}{after}".split())


@functools.lru_cache(maxsize=1 << 16)
def _clean(word: str) -> str | None:
    """A word of a name in the index's form (cached: a table repeats its names)."""
    return clean_name(word)


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
            key = f"{_clean(first.group(0))} {_clean(words[j].group(0))}"
            if key in index.by_name:
                found.append((first.start(), words[j].end(), index.by_name[key]))
                break
    return found


def _other_names(text: str) -> list[tuple[int, int, str]]:
    """Names that are cued ("Name: ...") or sit in a name column: people who may not be
    patients. (start, end, the name as written)."""
    found = [(m.start(1), m.end(1), m.group(1).strip()) for m in _CUED_NAME.finditer(text)]
    for line in lines(text):
        for a, b, head in line.cells:
            cell = line.text[a:b]
            if _NAME_HEADER.search(head) and _NAME_CELL.fullmatch(cell):
                lead = len(cell) - len(cell.lstrip())
                found.append((line.start + a + lead, line.start + b, cell.strip()))
    return found


class _Near:
    """The first value of an element at or after a position (hits are in text order)."""

    def __init__(self, hits: list[Hit]) -> None:
        self.by: dict[str, tuple[list[int], list[Hit]]] = {}
        for hit in hits:
            starts, found = self.by.setdefault(hit.element, ([], []))
            starts.append(hit.start)
            found.append(hit)

    def __call__(self, at: int, element: str) -> Hit | None:
        starts, found = self.by.get(element, ([], []))
        i = bisect.bisect_left(starts, at)
        return found[i] if i < len(found) else None


def _choose(pids: list[str], at: int, near: _Near, index: Index) -> str | None:
    """One patient among those sharing a name: by the date of birth written after the
    name, else by the address; None when neither tells them apart."""
    if len(pids) == 1:
        return pids[0]
    dob = near(at, "dob")
    if dob is not None:
        day = iso_date(dob.value)
        same = [p for p in pids if index.patients[p]["dob"] == day]
        if len(same) == 1:
            return same[0]
        pids = same or pids
    address = near(at, "address")
    if address is not None:
        key = address_key(address.value)
        same = [p for p in pids if key and index.patients[p]["address"] == key]
        if len(same) == 1:
            return same[0]
    return None


#: how values are recognised: the fast path, phiwarden's recognizers inside Presidio, or
#: plain Presidio (its default recognizers; for comparison)
RECOGNIZERS = ("fast", "presidio", "plain-presidio")


def recognized(text: str, index: Index, recognizer: str = "fast") -> list[Hit]:
    """The values in a text, by the chosen recognizers."""
    if recognizer == "fast":
        return recognize(text, index.mrn_pattern)
    from phiwarden.breach import presidio

    if recognizer == "presidio":
        return presidio.presidio_hits(text, index.mrn_pattern)
    if recognizer == "plain-presidio":
        return presidio.plain_hits(text)
    raise ValueError(f"unknown recognizers {recognizer!r}: use {', '.join(RECOGNIZERS)}")


def link_text(item: Text, index: Index, recognizer: str = "fast") -> list[Finding]:
    """The findings of one text, each linked to a patient or an unlinked person. Of a
    message's headers only the subject is read: senders and recipients are the workforce."""
    text = item.text
    if item.where.endswith("/headers"):
        text = "\n".join(line for line in text.splitlines() if line.startswith("Subject:"))
    hits = recognized(text, index, recognizer)
    # events: (position, order, person key or None, patient id or None, label, hit)
    events: list[tuple[int, int, str | None, str | None, str, Hit]] = []
    named: list[tuple[int, int]] = []  # sorted, not overlapping
    near = _Near(hits)
    for start, end, pids in _names(text, index):
        pid = _choose(pids, start, near, index)
        label = text[start:end]
        named.append((start, end))
        if pid is not None:
            events.append((start, 0, pid, pid, "", Hit("name", start, end, label, 1.0)))
        else:
            key = index.stranger("name", clean_name(label) or label)
            note = f"{mask('name', label)} ({len(pids)} patients share this name)"
            events.append((start, 0, key, None, note, Hit("name", start, end, label, 1.0)))
    named.sort()
    for start, end, label in _other_names(text):
        i = bisect.bisect_left(named, (end, end))
        if i and named[i - 1][1] > start:
            continue  # overlaps a name already read (intervals are sorted and disjoint)
        bisect.insort(named, (start, end))
        key = index.stranger("name", clean_name(label) or label)
        events.append(
            (start, 0, key, None, mask("name", label), Hit("name", start, end, label, 1.0))
        )
    for hit in hits:
        pid = index.identify(hit)
        events.append((hit.start, 1, pid, pid, "", hit))
    current: tuple[str, str | None, str] | None = None  # (person, patient id, label)
    grouped: dict[tuple[str, str], list[tuple[int, int]]] = {}
    owners: dict[str, tuple[str | None, str]] = {}
    for _position, _order, person, pid, label, hit in sorted(events, key=lambda e: e[:2]):
        if person is not None:
            current = (person, pid, label)
        owner = current if person is None else (person, pid, label)
        if owner is None:
            if hit.element not in ("ssn", "drivers_license", "insurance"):
                continue  # a bare phone or date with nobody named: nothing to notify
            key = index.stranger(hit.element, hit.normal)
            owner = (key, None, f"unnamed {hit.element} {mask(hit.element, hit.value)}")
        owners.setdefault(owner[0], (owner[1], owner[2]))
        grouped.setdefault((owner[0], hit.element), []).append((hit.start, hit.end))
    findings = []
    for (person, element), spans in grouped.items():
        pid, label = owners[person]
        first = spans[0]
        findings.append(
            Finding(
                where=item.where,
                element=element,
                person=person,
                patient_id=pid,
                label=label,
                offsets=tuple(spans[:MAX_OFFSETS]),
                snippet=snippet(text, first[0], first[1], element),
                when=item.when,
                occurrences=len(spans),
            )
        )
    return findings


@dataclass
class Person:
    """One affected person: what was exposed and where."""

    person: str
    patient_id: str | None
    label: str = ""
    elements: set[str] = field(default_factory=set)
    evidence: list[tuple[str, str]] = field(default_factory=list)  # (where, element)


@dataclass
class Scope:
    """A walk's result in memory: the people, the unlinked, and what was not read."""

    people: dict[str, Person] = field(default_factory=dict)
    unlinked: dict[str, Person] = field(default_factory=dict)
    unscannable: list[dict[str, str]] = field(default_factory=list)
    texts: int = 0

    def add(self, finding: Finding) -> None:
        """Count one finding for its person."""
        into = self.people if finding.patient_id else self.unlinked
        person = into.setdefault(
            finding.person, Person(finding.person, finding.patient_id, finding.label)
        )
        person.elements.add(finding.element)
        person.evidence.append((finding.where, finding.element))


def scope_items(items: Iterable[Item], index: Index, recognizer: str = "fast") -> Scope:
    """The affected people of every item a walk produced (one process, in memory)."""
    scope = Scope()
    for item in items:
        if isinstance(item, Unscannable):
            scope.unscannable.append({"where": item.where, "reason": item.reason})
            continue
        scope.texts += 1
        for finding in link_text(item, index, recognizer):
            scope.add(finding)
    return scope
