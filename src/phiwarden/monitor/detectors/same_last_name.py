"""Same last name: the patient's last name sounds like the user's (a possible relative)."""

from __future__ import annotations

import ibis.expr.types as ir

from phiwarden.monitor.chance import peer_chance_of_key
from phiwarden.monitor.signals import (
    Detector,
    Inputs,
    signal,
    text,
    with_people,
)


def find(inputs: Inputs) -> ir.Table:
    """Unexplained patients whose last name has the user's metaphone (Smith ~ Smyth)."""
    j = with_people(inputs)
    not_self = j.p_employee_user_id.isnull() | (j.p_employee_user_id != j.user_id)
    hits = j.filter((j.p_last_sound == j.u_last_sound) & not_self.fill_null(True))
    detail = text("patient's last name ", hits.p_last_name, " ~ user's ", hits.u_last_name)
    return signal(hits, hits.user_id, hits.patient_id, detail)


def chance(inputs: Inputs) -> dict[str, float]:
    """Per user: how often the user's peers' unexplained patients sound like the user."""
    return peer_chance_of_key(inputs, "last_sound")


DETECTOR = Detector(
    code="same_last_name",
    title="Same last name",
    weight=0.5,
    why="Relatives are the most frequent target of curiosity; alone it is weak evidence "
    "(common names), with an address or contact match it is strong.",
    reason="opened {n} patient(s) with the user's last name",
    find=find,
    relationship=True,
    common=True,
    chance=chance,
)
