"""Same phone: one of the patient's phone numbers is the user's."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from phiwarden.monitor.signals import Detector, Inputs, signal, text


def find(inputs: Inputs) -> ir.Table:
    """Unexplained patients with a phone key equal to the user's."""
    pt, phones, w, p = (
        inputs.patients,
        inputs.ctx["patient_phones"],
        inputs.workforce,
        inputs.pairs,
    )
    numbers = ibis.union(
        pt.select(pid=pt.patient_id, pkey=pt.phone_key),
        phones.select(pid=phones.patient_id, pkey=phones.phone_key),
    ).filter(lambda t: t.pkey.notnull())
    wu = w.select(uid=w.user_id, uphone=w.phone_key)
    not_self = pt.select(sid=pt.patient_id, emp=pt.employee_user_id)
    j = (
        p.join(wu, p.user_id == wu.uid)
        .join(numbers, [p.patient_id == numbers.pid, wu.uphone == numbers.pkey])
        .join(not_self, p.patient_id == not_self.sid)
    )
    j = j.filter(j.emp.isnull() | (j.emp != j.user_id))
    detail = text("patient's phone ending ", j.pkey.right(4), " is the user's")
    return signal(j, j.user_id, j.patient_id, detail)


DETECTOR = Detector(
    code="same_phone",
    title="Same phone",
    weight=1.2,
    why="A shared phone number ties the user to the patient's household.",
    reason="opened {n} patient(s) sharing the user's phone number",
    find=find,
    relationship=True,
)
