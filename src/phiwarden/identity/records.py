"""Person records in the one normalised form that linkage and screening compare.

Input is any table with the columns of ``PERSON_COLUMNS`` (the ``phiwarden link --input``
CSV, or the patient index read from the store); output adds the matching columns. Every
record comes out: a value that fails normalisation (a foreign address, an impossible
date, a malformed SSN) becomes null in its matching column and is named in ``problems``,
and the record links on what it has.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.identity.addresses import address_key, postcode, zip5
from phiwarden.identity.dates import parse_dob
from phiwarden.identity.distinct import per_distinct
from phiwarden.identity.names import clean_name, clean_place, formal_first, phonetic
from phiwarden.identity.phones import e164
from phiwarden.identity.ssn import check_ssn, digits

#: The person columns of ``phiwarden link --input`` (documented in docs/identity.md).
PERSON_COLUMNS: tuple[str, ...] = (
    "record_id",
    "first_name",
    "last_name",
    "dob",
    "sex",
    "ssn",
    "address",
    "city",
    "state",
    "zip",
    "phone",
)

#: The normalised columns the linkage model compares, in order.
MATCH_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("first_name", pa.string()),
        ("first_formal", pa.string()),
        ("last_name", pa.string()),
        ("last_phonetic", pa.string()),
        ("dob", pa.string()),
        ("sex", pa.string()),
        ("ssn_hash", pa.string()),
        ("ssn_last4", pa.string()),
        ("address_key", pa.string()),
        ("city", pa.string()),
        ("postcode", pa.string()),
        ("phone", pa.string()),
        ("member_id", pa.string()),
        ("problems", pa.string()),
    ]
)

Hasher = Callable[[str], str]
_SEX = {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F"}


def _strings(table: pa.Table, name: str) -> pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    col = table.column(name).combine_chunks()
    if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
        col = pc.cast(col, pa.string())
    col = pc.utf8_trim_whitespace(col)
    return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)


def _matchable_ssn(value: str) -> str | None:
    """The digits an SSN is matched on. A nine-digit number that was never issued
    (000-00-0000 and other placeholders) matches nothing: many people share it. Other
    identifiers (a foreign national number) still match on their digits."""
    found = "".join(c for c in value if c.isdigit())
    if not found:
        return None
    if len(found) == 9 and check_ssn(found).never_issued:
        return None
    return found


def _dob_text(value: str, today: date) -> str | None:
    found = parse_dob(value, today)
    return found.isoformat() if found else None


def _problem(label: str, raw: pa.Array, clean: pa.Array) -> pa.Array:
    """``label`` where a raw value was given but did not normalise; else null."""
    failed = pc.and_(pc.is_valid(raw), pc.is_null(clean))
    return pc.if_else(failed, pa.scalar(label), pa.scalar(None, pa.string()))


def normalise_persons(table: pa.Table, hasher: Hasher, *, today: date | None = None) -> pa.Table:
    """The matching columns of every record in ``table``; nothing is dropped.

    ``hasher`` is the keyed hash of SSNs (``Protector.keyed_hash``), so the output holds no
    SSN in clear. A table that already carries ``ssn_hash`` / ``ssn_last4`` (the patient
    index) keeps them.
    """
    day = today or date.today()
    first_raw, last_raw = _strings(table, "first_name"), _strings(table, "last_name")
    first = per_distinct(first_raw, clean_name, pa.string())
    last = per_distinct(last_raw, clean_name, pa.string())
    dob_raw = _strings(table, "dob")
    dob = per_distinct(dob_raw, lambda v: _dob_text(v, day), pa.string())
    sex = per_distinct(_strings(table, "sex"), lambda v: _SEX.get(v.upper()), pa.string())
    addr_raw = _strings(table, "address")
    address = per_distinct(addr_raw, address_key, pa.string())
    zip_raw = _strings(table, "zip")
    phone_raw = _strings(table, "phone")
    phone = per_distinct(phone_raw, e164, pa.string())
    if "ssn_hash" in table.column_names:
        ssn_hash, last4 = _strings(table, "ssn_hash"), _strings(table, "ssn_last4")
        ssn_problem = pa.nulls(table.num_rows, pa.string())
    else:
        ssn_raw = _strings(table, "ssn")
        ssn_digits = per_distinct(ssn_raw, _matchable_ssn, pa.string())
        ssn_hash = per_distinct(ssn_digits, hasher, pa.string())
        last4 = pc.utf8_slice_codeunits(ssn_digits, -4)
        nine = per_distinct(ssn_raw, digits, pa.string())
        ssn_problem = pc.if_else(
            pc.and_(pc.is_valid(nine), pc.is_null(ssn_digits)),
            pa.scalar("ssn: never issued (not matched on)"),
            _problem("ssn: not nine digits", ssn_raw, nine),
        )
    problems = [
        _problem("first_name: no letters", first_raw, first),
        _problem("last_name: no letters", last_raw, last),
        _problem("dob: not a possible date", dob_raw, dob),
        _problem("address: nothing to match on", addr_raw, address),
        _problem("zip: not a US ZIP code", zip_raw, per_distinct(zip_raw, zip5, pa.string())),
        _problem("phone: not a phone number", phone_raw, phone),
        ssn_problem,
    ]
    # null_handling="skip" returns an empty array when every input is null (pyarrow 2x),
    # so nulls become "" and the separators left over are trimmed.
    filled = [pc.fill_null(p, "") for p in problems]
    joined = pc.binary_join_element_wise(*filled, "|")
    joined = pc.replace_substring_regex(joined, r"\|+", "|")
    joined = pc.replace_substring(pc.utf8_trim(joined, "|"), "|", "; ")
    columns = {
        "record_id": _strings(table, "record_id"),
        "first_name": first,
        "first_formal": per_distinct(first, formal_first, pa.string()),
        "last_name": last,
        "last_phonetic": per_distinct(last, phonetic, pa.string()),
        "dob": dob,
        "sex": sex,
        "ssn_hash": ssn_hash,
        "ssn_last4": last4,
        "address_key": address,
        "city": per_distinct(_strings(table, "city"), clean_place, pa.string()),
        "postcode": per_distinct(zip_raw, postcode, pa.string()),
        "phone": phone,
        "member_id": _strings(table, "member_id"),
        "problems": pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined),
    }
    return pa.table(columns, schema=MATCH_SCHEMA)
