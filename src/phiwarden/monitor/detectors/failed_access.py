"""Failed access: repeated denied attempts at records no workflow explains."""

from __future__ import annotations

import ibis.expr.types as ir

from phiwarden.formats.outcome import FAILURE
from phiwarden.monitor.signals import Detector, Inputs, signal, text


def find(inputs: Inputs) -> ir.Table:
    """Unexplained (user, patient) pairs with failed attempts, for users with enough of them.

    A failure is an access event whose outcome is ``failure`` (ATNA EventOutcomeIndicator
    or FHIR outcome 4, 8, 12; an access log's "Denied"). A denied attempt at a patient in
    the user's care is a permission problem, so only unexplained pairs count, and only
    users with at least ``failed_min_attempts`` such failures in the window.
    """
    cfg = inputs.ctx.config
    e = inputs.ctx.events
    f = e.filter(e.outcome == FAILURE)
    tried = f.group_by(["user_id", "patient_id"]).aggregate(failed=f.count())
    p = inputs.pairs.select(pu="user_id", pp="patient_id")
    j = tried.join(p, (tried.user_id == p.pu) & (tried.patient_id == p.pp))
    j = j.select("user_id", "patient_id", "failed")
    per_user = j.group_by("user_id").aggregate(total=j.failed.sum())
    keep = per_user.filter(per_user.total >= cfg.failed_min_attempts).select(ku="user_id")
    k = j.join(keep, j.user_id == keep.ku)
    return signal(k, k.user_id, k.patient_id, text(k.failed, " failed attempt(s)"))


DETECTOR = Detector(
    code="failed_access",
    title="Failed access attempts",
    weight=1.0,
    why="Access control refused these attempts, and no workflow explains them: someone "
    "tried records beyond their rights, and may have tried other ways in.",
    reason="{n} patient(s) whose records the user tried and was refused",
    find=find,
)
