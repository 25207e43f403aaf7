"""Relative: the user is the patient's next of kin, emergency contact, guarantor or subscriber."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from phiwarden.monitor.signals import Detector, Inputs, signal, text


def find(inputs: Inputs) -> ir.Table:
    """Unexplained patients listing a contact or subscriber with the user's name.

    A name match that also shares the user's phone or address weighs more.
    """
    contacts, cov, w, p = (
        inputs.ctx["patient_contacts"],
        inputs.ctx["coverages"],
        inputs.workforce,
        inputs.pairs,
    )
    people = ibis.union(
        contacts.select(
            "patient_id",
            "first_key",
            "last_key",
            "phone_key",
            "addr_key",
            kind=contacts.kind,
            relationship=contacts.relationship,
        ),
        cov.filter(cov.subscriber_relationship.fill_null("") != "self").select(
            "patient_id",
            "first_key",
            "last_key",
            phone_key=ibis.null("string"),
            addr_key=ibis.null("string"),
            kind=ibis.literal("subscriber"),
            relationship=cov.subscriber_relationship,
        ),
    )
    wu = w.select(
        uid=w.user_id, ufirst=w.first_key, ulast=w.last_key, uphone=w.phone_key, uaddr=w.addr_key
    )
    j = p.join(wu, p.user_id == wu.uid).join(
        people,
        [
            p.patient_id == people.patient_id,
            wu.ufirst == people.first_key,
            wu.ulast == people.last_key,
        ],
    )
    also = (j.phone_key == j.uphone).fill_null(False) | (j.addr_key == j.uaddr).fill_null(False)
    detail = text("the user is the patient's ", j.kind, " (", j.relationship, ")")
    return signal(j, j.user_id, j.patient_id, detail, also.ifelse(1.3, 1.0))


DETECTOR = Detector(
    code="relative",
    title="User is a listed contact",
    weight=1.2,
    why="The user is named on the patient's record as next of kin, emergency contact, "
    "guarantor or insurance subscriber: a personal, not a professional, relationship.",
    reason="opened {n} patient(s) who list the user as a contact",
    find=find,
    relationship=True,
)
