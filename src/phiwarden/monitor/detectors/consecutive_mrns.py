"""Consecutive MRNs: a user working through medical record numbers in order."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from phiwarden.monitor.signals import Detector, Inputs, signal, text


def find(inputs: Inputs) -> ir.Table:
    """Runs of consecutive numeric MRNs among a user's unexplained patients."""
    p, pt = inputs.pairs, inputs.patients
    run = inputs.ctx.config.consecutive_mrn_run
    mrns = pt.filter(pt.mrn_num.notnull()).select(pid=pt.patient_id, mrn=pt.mrn_num)
    j = p.join(mrns, p.patient_id == mrns.pid).select("user_id", "patient_id", "mrn")
    order = ibis.row_number().over(group_by=j.user_id, order_by=j.mrn)
    j = j.mutate(island=j.mrn - order)
    sizes = j.group_by(["user_id", "island"]).aggregate(
        size=j.count(), low=j.mrn.min(), high=j.mrn.max()
    )
    long = sizes.filter(sizes.size >= run)
    k = j.join(long, ["user_id", "island"])
    detail = text("consecutive MRNs ", k.low, "-", k.high, " among the unexplained patients")
    return signal(k, k.user_id, k.patient_id, detail)


DETECTOR = Detector(
    code="consecutive_mrns",
    title="Consecutive MRNs",
    weight=1.0,
    why="Nobody's work arrives in MRN order; opening consecutive numbers is browsing.",
    reason="opened {n} patient(s) with consecutive MRNs",
    find=find,
    per_patient=False,
)
