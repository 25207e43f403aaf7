"""Co-worker: the patient is an employee (same department weighs more)."""

from __future__ import annotations

import ibis.expr.types as ir

from phiwarden.monitor.chance import keys_of, peer_chance
from phiwarden.monitor.signals import Detector, Inputs, signal, text


def find(inputs: Inputs) -> ir.Table:
    """Unexplained patients who are employees other than the user."""
    p, pt, w = inputs.pairs, inputs.patients, inputs.workforce
    emp = pt.filter(pt.employee_user_id.notnull()).select(
        pid=pt.patient_id, emp=pt.employee_user_id
    )
    me = w.select(uid=w.user_id, udept=w.department_id)
    them = w.select(eid=w.user_id, edept=w.department_id, erole=w.role)
    a = p.join(emp, p.patient_id == emp.pid)
    a = a.filter(a.emp != a.user_id)
    b = a.join(me, a.user_id == me.uid)
    j = b.left_join(them, b.emp == them.eid)
    same = (j.udept == j.edept).fill_null(False)
    detail = same.ifelse(
        text("patient is a co-worker in the user's department (", j.erole, ")"),
        text("patient is an employee (", j.erole, ")"),
    )
    return signal(j, j.user_id, j.patient_id, detail, same.ifelse(1.5, 1.0))


def chance(inputs: Inputs) -> dict[str, float]:
    """How often the user's peers' unexplained patients are employees."""
    pt = inputs.ctx.arrow["patient_index"]
    return peer_chance(inputs, dict.fromkeys(keys_of(pt, "employee_user_id", "patient_id"), True))


DETECTOR = Detector(
    code="coworker",
    title="Co-worker",
    weight=0.7,
    why="Curiosity about colleagues is a leading cause of access violations; the same "
    "department makes it likelier.",
    reason="opened {n} co-worker(s)' records",
    find=find,
    relationship=True,
    common=True,
    chance=chance,
)
