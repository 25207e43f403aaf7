"""Unknown account: accesses by a user the workforce directory does not hold."""

from __future__ import annotations

import ibis.expr.types as ir

from phiwarden.monitor.signals import Detector, Inputs, signal, text


def find(inputs: Inputs) -> ir.Table:
    """Every opening (explained or not) by a user id that is not in the workforce.

    Ingest loads such accesses instead of rejecting them (a directory gap): an account no
    one can name is a shared, generic, vendor or never-provisioned login, or a directory
    export that is out of date, and either way someone must look.
    """
    o, w = inputs.openings, inputs.workforce
    j = o.anti_join(w, o.user_id == w.user_id)
    detail = text("account ", j.user_id, " is not in the workforce directory")
    return signal(j, j.user_id, j.patient_id, detail)


DETECTOR = Detector(
    code="unknown_account",
    title="Unknown account",
    weight=1.5,
    why="An account missing from the workforce directory cannot be tied to a person, a role "
    "or a department: it is shared, generic or unprovisioned, or the directory is stale.",
    reason="an account not in the workforce directory opened {n} patient(s)",
    find=find,
    per_patient=False,
)
