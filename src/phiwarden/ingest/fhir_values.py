"""Read values out of FHIR JSON without trusting its shape.

The mappers run on resources that passed FHIR validation, but a reader must never fail
on odd input, so every accessor here returns ``None`` (or an empty list) when a value is
missing or of the wrong JSON type instead of raising. References are reduced to the id
of a wanted resource type; instants lose their zone designator, because canonical times
are the health system's naive wall clock and the export writes that clock with ``Z``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

JSON = dict[str, Any]

_REFERENCE = re.compile(r"(?:^|/)([A-Za-z]+)/([^/]+)(?:/_history/[^/]+)?$")
_ZONE = re.compile(r"(Z|[+-]\d\d:\d\d)$")


def obj(value: Any) -> JSON:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def objs(value: Any) -> list[JSON]:
    """The JSON objects in a list (other items and non-lists are dropped)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def strs(value: Any) -> list[str]:
    """The non-blank strings of a JSON list (a non-list gives none)."""
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str) and v.strip()]


def text(value: Any) -> str | None:
    """A string value, or None; numbers become their text like a JSON string would."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def ref_parts(reference: Any) -> tuple[str, str] | None:
    """``(type, id)`` of a literal reference such as ``Patient/1`` or an absolute URL."""
    ref = text(obj(reference).get("reference"))
    if ref is None:
        return None
    match = _REFERENCE.search(ref.strip())
    return (match.group(1), match.group(2)) if match else None


def ref_id(reference: Any, *types: str) -> str | None:
    """The id a Reference points to when its type is one of ``types``."""
    parts = ref_parts(reference)
    return parts[1] if parts is not None and parts[0] in types else None


def codings(concept: Any) -> list[JSON]:
    """The codings of a CodeableConcept (or a bare Coding, as in ``Encounter.class``)."""
    node = obj(concept)
    if "coding" in node:
        return objs(node.get("coding"))
    return [node] if "code" in node else []


def code_in(concepts: Any, system: str) -> str | None:
    """The first code of ``system`` among one concept or a list of concepts."""
    items = concepts if isinstance(concepts, list) else [concepts]
    for concept in items:
        for coding in codings(concept):
            if coding.get("system") == system and text(coding.get("code")):
                return text(coding.get("code"))
    return None


def all_codes(concepts: Any) -> Iterator[tuple[str | None, str]]:
    """Every ``(system, code)`` in one concept or a list of concepts."""
    items = concepts if isinstance(concepts, list) else [concepts]
    for concept in items:
        for coding in codings(concept):
            code = text(coding.get("code"))
            if code is not None:
                yield text(coding.get("system")), code


def concept_text(concept: Any) -> str | None:
    """A concept's text, else its first coding's display, else its first code."""
    node = obj(concept)
    found = text(node.get("text"))
    if found:
        return found
    for coding in codings(node):
        found = text(coding.get("display")) or text(coding.get("code"))
        if found:
            return found
    return None


def identifier(resource: JSON, system: str, type_code: str | None = None) -> str | None:
    """The value of the identifier of ``system`` (or, failing that, of type ``type_code``)."""
    idents = objs(resource.get("identifier"))
    for ident in idents:
        if ident.get("system") == system and text(ident.get("value")):
            return text(ident.get("value"))
    if type_code is not None:
        for ident in idents:
            if any(code == type_code for _, code in all_codes(ident.get("type"))):
                found = text(ident.get("value"))
                if found:
                    return found
    return None


def extension(resource: JSON, url: str) -> JSON:
    """The first extension with ``url`` (an empty object when absent)."""
    for ext in objs(resource.get("extension")):
        if ext.get("url") == url:
            return ext
    return {}


def wall_clock(value: Any) -> str | None:
    """An instant or dateTime as canonical naive wall-clock text (zone designator dropped)."""
    found = text(value)
    return _ZONE.sub("", found.strip()) if found else None


def date_part(value: Any) -> str | None:
    """The ``YYYY-MM-DD`` part of a date or dateTime (shorter partial dates kept as is)."""
    found = text(value)
    return found.strip()[:10] if found else None


def name_parts(name: Any) -> tuple[str | None, str | None, str | None]:
    """``(first, middle, last)`` of a HumanName; extra given names join the middle name."""
    node = obj(name)
    given = strs(node.get("given"))
    middle = " ".join(given[1:]) or None
    return (given[0] if given else None), middle, text(node.get("family"))


def current_name(names: Any) -> JSON:
    """The official (else usual, else first not-old) name of a resource."""
    items = objs(names)
    for use in ("official", "usual"):
        for name in items:
            if name.get("use") == use:
                return name
    for name in items:
        if name.get("use") not in ("old", "maiden", "anonymous"):
            return name
    return {}


def address_fields(address: Any) -> dict[str, str | None]:
    """Canonical ``address_line/city/state/zip`` from a FHIR Address."""
    node = obj(address)
    lines = strs(node.get("line"))
    return {
        "address_line": ", ".join(lines) or None,
        "city": text(node.get("city")),
        "state": text(node.get("state")),
        "zip": text(node.get("postalCode")),
    }


def current_address(addresses: Any) -> JSON:
    """The home (else first) address that is not old and has no end date."""
    items = [
        a
        for a in objs(addresses)
        if a.get("use") != "old" and not text(obj(a.get("period")).get("end"))
    ]
    for addr in items:
        if addr.get("use") == "home":
            return addr
    return items[0] if items else {}


def phone(telecom: Any) -> str | None:
    """The preferred phone: lowest rank, else the first phone that is not old."""
    phones = [t for t in objs(telecom) if t.get("system") == "phone" and text(t.get("value"))]
    ranked = [t for t in phones if type(t.get("rank")) is int]
    if ranked:
        return text(min(ranked, key=lambda t: int(t["rank"])).get("value"))
    for entry in phones:
        if entry.get("use") != "old":
            return text(entry.get("value"))
    return None


def email(telecom: Any) -> str | None:
    """The first email address."""
    for entry in objs(telecom):
        if entry.get("system") == "email" and text(entry.get("value")):
            return text(entry.get("value"))
    return None
