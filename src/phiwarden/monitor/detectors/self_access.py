"""Self-access: the user opened their own chart without a care relationship."""

from __future__ import annotations

import ibis.expr.types as ir

from phiwarden.monitor.signals import Detector, Inputs, signal, text, with_people


def find(inputs: Inputs) -> ir.Table:
    """The patient is the user: linked employee record, or same name and address or phone."""
    j = with_people(inputs)
    linked = j.p_employee_user_id == j.user_id
    same_person = (
        (j.p_last_key == j.u_last_key)
        & (j.p_first_key == j.u_first_key)
        & ((j.p_addr_key == j.u_addr_key) | (j.p_phone_key == j.u_phone_key))
    )
    hits = j.filter(linked.fill_null(False) | same_person.fill_null(False))
    detail = hits.p_employee_user_id.isnull().ifelse(
        text("same name, and same address or phone, as the user (MRN ", hits.p_mrn, ")"),
        text("the patient's record is the user's own (MRN ", hits.p_mrn, ")"),
    )
    return signal(hits, hits.user_id, hits.patient_id, detail)


DETECTOR = Detector(
    code="self_access",
    title="Self-access",
    weight=1.5,
    why="Workforce members must request their own records through HIM, not open them.",
    reason="opened their own record",
    find=find,
    relationship=True,
)
