"""Break-the-glass: emergency access to a restricted chart with no care relationship."""

from __future__ import annotations

import ibis.expr.types as ir

from phiwarden.monitor.signals import Detector, Inputs, signal


def find(inputs: Inputs) -> ir.Table:
    """Unexplained openings where the user broke the glass."""
    u = inputs.unexplained
    j = u.filter(u.btg)
    return signal(j, j.user_id, j.patient_id, "break-the-glass without a care relationship")


DETECTOR = Detector(
    code="break_glass",
    title="Break-the-glass",
    weight=0.5,
    why="Emergency override is legitimate in emergencies; without an encounter or order "
    "to show for it, the reason given deserves a look.",
    reason="broke the glass on {n} patient(s) with no care relationship",
    find=find,
    common=True,
)
