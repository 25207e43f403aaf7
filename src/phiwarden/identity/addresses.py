"""Addresses in USPS form for matching, and address types tied to fraud.

The matching key uses usaddress-scourgify's USPS tables (street types, directionals,
unit designators) token by token: ``2149 North Hickory Drive, Apartment 3`` and
``2149 N HICKORY DR APT 3`` get one key. scourgify's full parse (``usps_form``) is what a
person sees for one address; at about 90 microseconds an address it is too slow to run
over a million records, and it refuses PO boxes, so batch keys do not depend on it.
PO boxes, mail drops and correctional facilities are recognised from
``identity/data/address_types.toml``.
"""

from __future__ import annotations

import functools
import re
import tomllib
from importlib import resources

from scourgify import address_constants as usps
from scourgify import normalize_address_record
from scourgify.exceptions import AddressNormalizationError

_NOT_ALNUM = re.compile(r"[^A-Z0-9#]+")
_UNIT_MARK = re.compile(r"#\s*")


@functools.cache
def _token_map() -> dict[str, str]:
    table: dict[str, str] = {}
    table.update(usps.STREET_TYPE_ABBREVIATIONS)
    table.update(usps.DIRECTIONAL_REPLACEMENTS)
    # Every unit designator is one mark: "APT 3", "UNIT 3", "STE 3" and "# 3" agree.
    units = set(usps.OCCUPANCY_TYPE_ABBREVIATIONS) | set(usps.OCCUPANCY_TYPE_ABBREVIATIONS.values())
    table.update({u: "#" for u in units if u != "PO"})
    table.update({"NO": "#", "NUMBER": "#", "POB": "PO BOX"})
    return table


def address_key(line: str) -> str | None:
    """The address line in USPS abbreviations, upper case, units as ``#``, single spaces."""
    text = _UNIT_MARK.sub(" # ", line.upper().replace(".", ""))
    text = text.replace("P O BOX", "PO BOX").replace("POST OFFICE BOX", "PO BOX")
    words = [w for w in _NOT_ALNUM.sub(" ", text).split(" ") if w]
    table = _token_map()
    out = [table.get(w, w) for w in words]
    key = " ".join(out)
    return key or None


def zip5(value: str) -> str | None:
    """The five-digit ZIP code, or None if the value has none."""
    digits = re.sub(r"\D", "", value)
    return digits[:5] if len(digits) >= 5 else None


def postcode(value: str) -> str | None:
    """The US ZIP5 when the value is a US ZIP code, else the code's letters and digits
    (a foreign postcode still links on what it has)."""
    found = zip5(value)
    if found is not None and len(re.sub(r"\D", "", value)) in (5, 9):
        return found
    code = re.sub(r"[^0-9A-Z]", "", value.upper())
    return code or None


def usps_form(line: str, city: str | None, state: str | None, zip_code: str | None) -> str | None:
    """The address as scourgify normalises it to USPS form; None if it cannot be parsed
    (a foreign address, a PO box, a fragment), in which case callers keep the key."""
    try:
        rec = normalize_address_record(
            {
                "address_line_1": line,
                "city": city or "",
                "state": state or "",
                "postal_code": zip_code or "",
            }
        )
    except (AddressNormalizationError, ValueError, TypeError, KeyError):
        return None
    parts = [rec.get("address_line_1"), rec.get("address_line_2")]
    street = " ".join(p for p in parts if p)
    city, state, code = (rec.get(k) or "" for k in ("city", "state", "postal_code"))
    return f"{street}, {city}, {state} {code}"


@functools.cache
def _type_patterns() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    text = resources.files("phiwarden.identity").joinpath("data/address_types.toml").read_text()
    body = tomllib.loads(text)
    return tuple(
        (kind, spec["description"], re.compile(p))
        for kind, spec in body.items()
        for p in spec["patterns"]
    )


def address_type(line: str) -> tuple[str, str] | None:
    """(kind, description) when the line is a PO box, mail drop or correctional facility.

    Mail drops and prisons are checked before PO boxes: a PMB inside a PO box is a drop.
    """
    text = " ".join(_NOT_ALNUM.sub(" ", line.upper().replace(".", "")).split())
    found = {kind: desc for kind, desc, rx in _type_patterns() if rx.search(text)}
    for kind in ("prison", "mail_drop", "po_box"):
        if kind in found:
            return kind, found[kind]
    return None
