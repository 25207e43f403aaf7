"""HL7 v2 updates of a stored patient: A08/A31 change demographics, A24 links, A37 unlinks.

The loader inserts each record once by key, so a later message about a stored patient
would otherwise change nothing. An **update** (A08 update patient information, A31
update person information) compares the PID with the stored record field by field; a
field the message leaves empty means "no information" and keeps the stored value (HL7
v2.5.1 2.5.3; the explicit delete ``""`` is not applied). Each changed field is written
to ``patient_history`` with its previous value (an SSN only masked and as its keyed hash),
when and by whom, and the message; the patient row then holds the new values. A changed
name also joins ``previous_names``, and a changed address closes the stored current
address (``valid_to``), so registration screening still recognises a person who presents
an identity the hospital had on file before.

A **link** (A24) records that two charts are the same person without merging them; an
**unlink** (A37) ends it (``patient_links.unlinked_at``). An unlink of a link phiwarden
never saw is kept too, so the record of the decision is not lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from phiwarden.ingest.hl7_segments import Row, digest
from phiwarden.store.repositories import domain_table, insert_rows
from phiwarden.store.schema import patient_history, patient_links
from phiwarden.store.sensitive import Protector, mask_ssn

UPDATE_EVENTS = frozenset({"A08", "A31"})
LINK_EVENTS = frozenset({"A24"})
UNLINK_EVENTS = frozenset({"A37"})

#: Patient columns an update may change, in the order they are compared.
DEMOGRAPHICS = (
    "first_name",
    "middle_name",
    "last_name",
    "dob",
    "sex",
    "ssn",
    "address_line",
    "city",
    "state",
    "zip",
    "phone",
    "email",
    "deceased_date",
)
_ADDRESS = ("address_line", "city", "state", "zip")


@dataclass(frozen=True)
class Update:
    """One update message's view of a patient."""

    patient: Row
    when: str | None
    message_id: str
    event: str
    operator: str | None


@dataclass(frozen=True)
class Link:
    """One link (A24) or unlink (A37) of two charts."""

    patient_id: str
    other_patient_id: str
    when: str | None
    message_id: str
    operator: str | None
    unlink: bool


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    text = str(value).strip()
    return text or None


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _ssn_change(
    protector: Protector, stored: dict[str, Any], new: str
) -> tuple[str | None, str | None, str | None, dict[str, Any]] | None:
    encrypted, hashed, last4 = protector.protect(new)
    if hashed is None or hashed == stored["ssn_hash"]:
        return None
    values = {"ssn_encrypted": encrypted, "ssn_hash": hashed, "ssn_last4": last4}
    previous = mask_ssn(stored["ssn_last4"]) or None
    return previous, mask_ssn(last4), stored["ssn_hash"], values


def apply_update(conn: Connection, protector: Protector, change: Update) -> list[str]:
    """Apply one update to the stored patient; returns the fields that changed.

    A patient not stored yet is left to the ordinary insert (nothing to compare with).
    """
    patients = domain_table("patients")
    patient_id = change.patient["patient_id"] or ""
    stored_row = (
        conn.execute(select(patients).where(patients.c.patient_id == patient_id)).mappings().first()
    )
    if stored_row is None:
        return []
    stored = dict(stored_row)
    values: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    when = _when(change.when)
    for name in DEMOGRAPHICS:
        new = _text(change.patient.get(name))
        if new is None:
            continue
        previous_hash: str | None = None
        if name == "ssn":
            found = _ssn_change(protector, stored, new)
            if found is None:
                continue
            previous, shown, previous_hash, ssn_values = found
            values.update(ssn_values)
        else:
            previous = _text(stored.get(name))
            if previous == new or (previous and previous.upper() == new.upper()):
                continue
            shown = new
            values[name] = date.fromisoformat(new) if name in ("dob", "deceased_date") else new
        history.append(
            {
                "history_id": f"{patient_id}-H-{digest(change.message_id, name)}",
                "patient_id": patient_id,
                "changed_at": when,
                "field": name,
                "previous_value": previous,
                "new_value": shown,
                "previous_hash": previous_hash,
                "source": f"HL7 {change.event}",
                "message_id": change.message_id[:64],
                "changed_by_user_id": change.operator,
            }
        )
    if not history:
        return []
    inserted = insert_rows(conn, patient_history, history)
    if not inserted.inserted:  # the same message again: already applied
        return []
    changed = [h["field"] for h in history]
    if {"first_name", "last_name"} & set(changed) and stored.get("last_name"):
        old = ", ".join(p for p in (stored["last_name"], stored.get("first_name")) if p)
        names = [n for n in (stored.get("previous_names") or "").split(";") if n]
        if old not in names:
            values["previous_names"] = ";".join([old, *names])
    conn.execute(update(patients).where(patients.c.patient_id == patient_id).values(**values))
    if set(_ADDRESS) & set(changed):
        _close_old_addresses(conn, patient_id, stored, when)
    return changed


def _close_old_addresses(
    conn: Connection, patient_id: str, stored: dict[str, Any], when: datetime | None
) -> None:
    """End the stored current address that the update replaced."""
    if not stored.get("address_line"):
        return
    addresses = domain_table("patient_addresses")
    conn.execute(
        update(addresses)
        .where(
            (addresses.c.patient_id == patient_id)
            & (addresses.c.address_line == stored["address_line"])
            & addresses.c.valid_to.is_(None)
        )
        .values(valid_to=(when or datetime.now()).date())
    )


def apply_link(conn: Connection, link: Link) -> bool:
    """Record a link or an unlink of two charts; True when it changed something."""
    first, second = sorted((link.patient_id, link.other_patient_id))
    link_id = f"LK-{digest(first, second)}"
    when = _when(link.when)
    stored = (
        conn.execute(select(patient_links).where(patient_links.c.link_id == link_id))
        .mappings()
        .first()
    )
    if link.unlink:
        if stored is not None and stored["unlinked_at"] is not None:
            return False
        if stored is None:
            row = {"link_id": link_id, "patient_id": first, "other_patient_id": second}
            insert_rows(
                conn,
                patient_links,
                [{**row, "unlinked_at": when, "unlinked_by_user_id": link.operator}],
            )
            return True
        conn.execute(
            update(patient_links)
            .where(patient_links.c.link_id == link_id)
            .values(unlinked_at=when, unlinked_by_user_id=link.operator)
        )
        return True
    if stored is not None and stored["unlinked_at"] is None:
        return False
    if stored is None:
        row = {"link_id": link_id, "patient_id": first, "other_patient_id": second}
        insert_rows(
            conn, patient_links, [{**row, "linked_at": when, "linked_by_user_id": link.operator}]
        )
        return True
    if stored["unlinked_at"] is not None and (when is None or when <= stored["unlinked_at"]):
        return False  # a link older than the unlink that ended it: already undone
    conn.execute(
        update(patient_links)
        .where(patient_links.c.link_id == link_id)
        .values(
            linked_at=when,
            linked_by_user_id=link.operator,
            unlinked_at=None,
            unlinked_by_user_id=None,
        )
    )
    return True
