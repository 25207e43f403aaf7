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


def in_run_by_chance(density: float, run: int) -> float:
    """The probability that a patient drawn at MRN density ``density`` sits in a run of at
    least ``run`` consecutive MRNs (runs to its left and right are geometric)."""
    d = min(max(density, 0.0), 1.0)
    short = sum(
        d**left * (1 - d) * d**right * (1 - d)
        for left in range(run - 1)
        for right in range(run - 1 - left)
    )
    return 1.0 - short


def chance(inputs: Inputs) -> dict[str, float]:
    """Per user: how often one of their unexplained patients is in a run by chance, given
    how densely their unexplained patients cover the numeric MRNs."""
    mrns = inputs.ctx.arrow["patient_index"]["mrn_num"]
    numbered = max(len(mrns) - mrns.null_count, 1)
    per_user = inputs.pairs.group_by("user_id").aggregate(n=inputs.pairs.count()).to_pyarrow()
    run = inputs.ctx.config.consecutive_mrn_run
    return {
        user: in_run_by_chance(n / numbered, run)
        for user, n in zip(per_user["user_id"].to_pylist(), per_user["n"].to_pylist(), strict=True)
    }


DETECTOR = Detector(
    code="consecutive_mrns",
    title="Consecutive MRNs",
    weight=1.0,
    why="Nobody's work arrives in MRN order; opening consecutive numbers is browsing.",
    reason="opened {n} patient(s) with consecutive MRNs",
    find=find,
    per_patient=False,
    # a user opening hundreds of patients nobody's records explain (a call centre whose
    # calls are not in the export) meets short runs by chance: weigh them against it
    common=True,
    chance=chance,
)
