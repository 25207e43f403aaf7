"""FHIR R4 data types built from canonical rows: references, codings, names, addresses and
gender, shared by the resource builders (``fhir_directory``, ``fhir_resources``,
``fhir_care``)."""

from __future__ import annotations

from typing import Any

from phiwarden.synth.export_io import Row

JSON = dict[str, Any]


def ref(kind: str, ident: str) -> JSON:
    return {"reference": f"{kind}/{ident}"}


def coding(system: str, code: str, display: str | None = None) -> JSON:
    out: JSON = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def gender(sex: str | None) -> str:
    """Map a canonical sex value to FHIR administrative gender."""
    value = (sex or "").strip().lower()
    if value in ("m", "male"):
        return "male"
    if value in ("f", "female"):
        return "female"
    if value in ("o", "other", "x"):
        return "other"
    return "unknown"


def human_name(
    last: str | None, first: str | None, middle: str | None = None, use: str | None = None
) -> JSON:
    """A HumanName with family and given names (empty parts left out)."""
    name: JSON = {}
    if use:
        name["use"] = use
    if last:
        name["family"] = last
    given = [g for g in (first, middle) if g]
    if given:
        name["given"] = given
    return name


def previous_names(value: str | None) -> list[JSON]:
    """Parse ``'Last, First;Last2, First2'`` into HumanNames with use ``old``."""
    names: list[JSON] = []
    for item in (value or "").split(";"):
        item = item.strip()
        if not item:
            continue
        last, _, first = item.partition(",")
        names.append(human_name(last.strip(), first.strip() or None, use="old"))
    return names


def address(row: Row, prefix: str = "", use: str | None = None) -> JSON | None:
    """An Address from ``address_line/city/state/zip`` columns, or None if all empty."""
    line, city = row.get(prefix + "address_line"), row.get(prefix + "city")
    state, zip_ = row.get(prefix + "state"), row.get(prefix + "zip")
    if not any((line, city, state, zip_)):
        return None
    out: JSON = {}
    if use:
        out["use"] = use
    if line:
        out["line"] = [line]
    if city:
        out["city"] = city
    if state:
        out["state"] = state
    if zip_:
        out["postalCode"] = zip_
    out["country"] = "US"
    return out
