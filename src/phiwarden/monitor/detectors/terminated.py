"""Terminated or inactive user: accesses after the termination date or before hire."""

from __future__ import annotations

import ibis.expr.types as ir

from phiwarden.monitor.signals import Detector, Inputs, signal, text


def find(inputs: Inputs) -> ir.Table:
    """Every opening (explained or not) by a user outside their employment dates."""
    o, w = inputs.openings, inputs.workforce
    emp = w.select(uid=w.user_id, hired=w.hire_date, left=w.termination_date)
    j = o.join(emp, o.user_id == emp.uid)
    day = j.first.date()
    after = (day > j.left).fill_null(False)
    before = (day < j.hired).fill_null(False)
    j = j.mutate(after=after).filter(after | before)
    detail = j.after.ifelse(
        text("access after the user's termination on ", j.left),
        text("access before the user's hire date ", j.hired),
    )
    return signal(j, j.user_id, j.patient_id, detail)


DETECTOR = Detector(
    code="terminated",
    title="Terminated or inactive user",
    weight=1.5,
    why="An account used after its owner left is a shared or stolen credential, or an "
    "access that was never revoked.",
    reason="accessed {n} patient(s) outside the user's employment dates",
    find=find,
)
