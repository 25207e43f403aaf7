"""After hours: unexplained accesses outside the user's own shift."""

from __future__ import annotations

import ibis.expr.types as ir

from phiwarden.monitor.signals import Detector, Inputs, signal, text, with_off_shift


def find(inputs: Inputs) -> ir.Table:
    """Users who opened several patients, unexplained, an hour or more outside their shift.

    Users of an office department (registration, billing, HIM...) with no recorded shift
    are judged on the facility's office hours; other users with no shift are skipped.
    """
    least = inputs.ctx.config.after_hours_min_patients
    j = with_off_shift(inputs.unexplained, inputs.ctx)
    j = j.filter(j.off)
    per_user = j.group_by(j.user_id).aggregate(n=j.patient_id.nunique())
    many = per_user.filter(per_user.n >= least).select(keep=per_user.user_id)
    j = j.join(many, j.user_id == many.keep)
    detail = text("opened at ", j.first.hour(), ":00, shift ", j.s, ":00-", j.e, ":00")
    return signal(j, j.user_id, j.patient_id, detail)


DETECTOR = Detector(
    code="after_hours",
    title="After hours",
    weight=1.2,
    why="Snooping happens when nobody is around: records opened well outside the user's "
    "own working hours, with nothing to explain them.",
    reason="opened {n} patient(s) outside the user's shift",
    find=find,
    per_patient=False,
)
