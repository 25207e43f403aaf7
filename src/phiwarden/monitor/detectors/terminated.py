"""Terminated or inactive user: accesses after the termination date or before hire."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from phiwarden.monitor.signals import Detector, Inputs, signal, text


def find(inputs: Inputs) -> ir.Table:
    """Every opening (explained or not) by a user outside their employment dates."""
    o, w = inputs.openings, inputs.workforce
    window = inputs.ctx.window
    emp = w.select(uid=w.user_id, hired=w.hire_date, left=w.termination_date)
    # only users who left before the window ends or joined after it starts can match:
    # a few rows to join the 3.4M openings with, not one per opening
    emp = emp.filter(
        (emp.left < ibis.literal(window.until)).fill_null(False)
        | (emp.hired > ibis.literal(window.since)).fill_null(False)
    )
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
