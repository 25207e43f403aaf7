"""Deceased patient: the chart was opened after the patient's death."""

from __future__ import annotations

import ibis.expr.types as ir

from phiwarden.monitor.signals import Detector, Inputs, signal, text


def find(inputs: Inputs) -> ir.Table:
    """Unexplained openings of a patient dated after the date of death."""
    u, pt = inputs.unexplained, inputs.patients
    dead = pt.filter(pt.deceased_date.notnull()).select(pid=pt.patient_id, died=pt.deceased_date)
    j = u.join(dead, u.patient_id == dead.pid)
    j = j.filter(j.first.date() > j.died)
    detail = text("patient died ", j.died)
    return signal(j, j.user_id, j.patient_id, detail)


DETECTOR = Detector(
    code="deceased",
    title="Deceased patient",
    weight=1.2,
    why="No care is given after death; unexplained accesses then are curiosity or a step "
    "towards using the dead person's identity.",
    reason="opened {n} deceased patient(s)' records",
    find=find,
)
