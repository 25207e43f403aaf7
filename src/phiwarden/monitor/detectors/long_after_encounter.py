"""First access long after the patient's last encounter."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from phiwarden.monitor.signals import Detector, Inputs, signal, text


def find(inputs: Inputs) -> ir.Table:
    """Unexplained pairs first opened long after the patient's last encounter ended.

    Patients with no encounter on record are not flagged: a new patient's first call or
    booking has none yet.
    """
    p, last = inputs.pairs, inputs.ctx["last_encounter"]
    days = inputs.ctx.config.long_after_days
    seen = last.select(pid=last.patient_id, seen=last.last_seen)
    j = p.join(seen, p.patient_id == seen.pid)
    j = j.filter(j.first > j.seen + ibis.interval(days=days))
    detail = text("last encounter ended ", j.seen.date())
    return signal(j, j.user_id, j.patient_id, detail)


DETECTOR = Detector(
    code="long_after_encounter",
    title="Long after the last encounter",
    weight=0.4,
    why="A chart opened long after the patient's last visit, with no new visit, order or "
    "call, has no workflow behind it.",
    reason="opened {n} patient(s) not seen by the hospital for a long time",
    find=find,
    common=True,
)
