"""Same address: the patient lives, or lived, at the user's address."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from phiwarden.monitor.signals import Detector, Inputs, signal, text


def find(inputs: Inputs) -> ir.Table:
    """Unexplained patients whose current or past address key equals the user's."""
    pt, hist, w, p = (
        inputs.patients,
        inputs.ctx["patient_addresses"],
        inputs.workforce,
        inputs.pairs,
    )
    addresses = ibis.union(
        pt.select(pid=pt.patient_id, akey=pt.addr_key, line=pt.address_line),
        hist.select(pid=hist.patient_id, akey=hist.addr_key, line=hist.address_line),
    ).filter(lambda t: t.akey.notnull())
    wu = w.select(uid=w.user_id, uaddr=w.addr_key)
    not_self = pt.select(sid=pt.patient_id, emp=pt.employee_user_id)
    j = (
        p.join(wu, p.user_id == wu.uid)
        .join(addresses, [p.patient_id == addresses.pid, wu.uaddr == addresses.akey])
        .join(not_self, p.patient_id == not_self.sid)
    )
    j = j.filter(j.emp.isnull() | (j.emp != j.user_id))
    detail = text("patient's address ", j.line, " is the user's")
    return signal(j, j.user_id, j.patient_id, detail)


DETECTOR = Detector(
    code="same_address",
    title="Same address",
    weight=1.2,
    why="A household member's chart opened without a care relationship is the classic "
    "family snooping case.",
    reason="opened {n} patient(s) living at the user's address",
    find=find,
    relationship=True,
)
