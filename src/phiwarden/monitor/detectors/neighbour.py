"""Neighbour: the patient lives on the user's street (not at the user's address)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from phiwarden.monitor.chance import peer_chance_of_key
from phiwarden.monitor.signals import Detector, Inputs, signal, text


def find(inputs: Inputs) -> ir.Table:
    """Unexplained patients whose current or past street key is the user's street."""
    pt, hist, w, p = (
        inputs.patients,
        inputs.ctx["patient_addresses"],
        inputs.workforce,
        inputs.pairs,
    )
    streets = ibis.union(
        pt.select(pid=pt.patient_id, skey=pt.street_key, akey=pt.addr_key),
        hist.select(pid=hist.patient_id, skey=hist.street_key, akey=hist.addr_key),
    ).filter(lambda t: t.skey.notnull())
    wu = w.select(uid=w.user_id, ustreet=w.street_key, uaddr=w.addr_key)
    j = p.join(wu, p.user_id == wu.uid).join(
        streets, [p.patient_id == streets.pid, wu.ustreet == streets.skey]
    )
    j = j.filter((j.akey != j.uaddr).fill_null(True))
    detail = text("patient lives on the user's street (", j.skey.split("|")[0], ")")
    return signal(j, j.user_id, j.patient_id, detail)


def chance(inputs: Inputs) -> dict[str, float]:
    """Per user: how often the user's peers' unexplained patients live on the user's street."""
    return peer_chance_of_key(inputs, "street_key")


DETECTOR = Detector(
    code="neighbour",
    title="Neighbour",
    weight=0.9,
    why="Neighbours' charts are opened out of curiosity or for gossip.",
    reason="opened {n} neighbour(s)' records",
    find=find,
    relationship=True,
    common=True,
    chance=chance,
)
