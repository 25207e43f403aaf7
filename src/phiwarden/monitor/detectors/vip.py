"""VIP or watch list: the patient's chart is flagged for extra protection."""

from __future__ import annotations

import ibis.expr.types as ir
import pyarrow.compute as pc

from phiwarden.monitor.chance import peer_chance
from phiwarden.monitor.signals import Detector, Inputs, signal


def find(inputs: Inputs) -> ir.Table:
    """Unexplained patients flagged VIP or on the watch list."""
    p, pt = inputs.pairs, inputs.patients
    flagged = pt.filter(pt.vip.fill_null(False) | pt.watch_list.fill_null(False)).select(
        pid=pt.patient_id, vip=pt.vip.fill_null(False)
    )
    j = p.join(flagged, p.patient_id == flagged.pid)
    detail = j.vip.ifelse("patient is a VIP", "patient is on the watch list")
    return signal(j, j.user_id, j.patient_id, detail)


def chance(inputs: Inputs) -> dict[str, float]:
    """How often the user's peers' unexplained patients are VIP or on the watch list."""
    pt = inputs.ctx.arrow["patient_index"]
    flagged = pc.or_kleene(pc.fill_null(pt["vip"], False), pc.fill_null(pt["watch_list"], False))
    ids = pt["patient_id"].filter(flagged).to_pylist()
    return peer_chance(inputs, dict.fromkeys(ids, True))


DETECTOR = Detector(
    code="vip",
    title="VIP or watch-list patient",
    weight=1.2,
    why="Celebrities, executives and patients at risk attract curiosity and press; their "
    "charts are the most often snooped.",
    reason="opened {n} VIP or watch-list patient(s) with no care relationship",
    find=find,
    common=True,
    chance=chance,
)
