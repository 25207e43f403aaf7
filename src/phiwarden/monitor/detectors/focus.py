"""Focus: a user's unexplained patients concentrated on one prescriber's controlled substances."""

from __future__ import annotations

import ibis.expr.types as ir
import pyarrow as pa

from phiwarden.monitor.chance import surprise
from phiwarden.monitor.signals import Detector, Inputs, signal


def find(inputs: Inputs) -> ir.Table:
    """Users whose unexplained patients mostly hold controlled-substance prescriptions
    from one prescriber, far more than other users' unexplained patients do, or hold them
    in a number chance all but rules out (-log10 p >= ``focus_min_surprise``).

    The seed case: a call-centre agent working through one physician's patients on
    controlled substances.
    """
    cfg = inputs.ctx.config
    p = inputs.pairs
    cs = inputs.ctx["controlled"]
    panel = cs.select(cpid=cs.patient_id, presc=cs.prescriber_user_id).distinct()
    hit = p.select("user_id", "patient_id").join(panel, p.patient_id == panel.cpid)
    per = hit.group_by(["user_id", "presc"]).aggregate(k=hit.patient_id.nunique())
    base = hit.group_by("presc").aggregate(pairs=hit.count())
    totals = p.group_by("user_id").aggregate(n=p.patient_id.nunique())
    cand = per.filter(per.k >= cfg.focus_min_patients).join(totals, "user_id").to_pyarrow()
    all_pairs = int(p.count().to_pyarrow().as_py())
    counted = base.to_pyarrow()  # executed once: row order differs between executions
    base_of = dict(zip(counted["presc"].to_pylist(), counted["pairs"].to_pylist(), strict=True))
    first, last = inputs.of_users("first_name"), inputs.of_users("last_name")
    names = {u: f"{first[u] or ''} {last[u] or ''}".strip() for u in first}
    rows: list[tuple[str, str, str]] = []
    for user, presc, k, n in zip(
        *(cand.column(c).to_pylist() for c in ("user_id", "presc", "k", "n")), strict=True
    ):
        others = (base_of.get(presc, 0) - k) / max(all_pairs - n, 1)
        share = k / n
        concentrated = share >= cfg.focus_min_share and share >= cfg.focus_min_lift * max(
            others, 1e-9
        )
        # a user whose legitimate work is unexplained too (a call centre without its call
        # log) dilutes the share: then the count itself must be far beyond chance
        floor = 1 / max(all_pairs - n, 1)  # no other pair at all is not certainty
        if concentrated or surprise(k, n * max(others, floor)) >= cfg.focus_min_surprise:
            rows.append(
                (
                    user,
                    presc,
                    f"{k} of {n} unexplained patients hold controlled-substance prescriptions "
                    f"from {names.get(presc, presc)} ({presc}); other users' share "
                    f"{others:.1%}",
                )
            )
    flagged = inputs.ctx.register(
        "focus_flagged",
        pa.table(
            {
                "fu": pa.array([r[0] for r in rows], pa.string()),
                "fp": pa.array([r[1] for r in rows], pa.string()),
                "why": pa.array([r[2] for r in rows], pa.string()),
            }
        ),
    )
    j = hit.join(flagged, [hit.user_id == flagged.fu, hit.presc == flagged.fp])
    return signal(j, j.user_id, j.patient_id, j.why)


DETECTOR = Detector(
    code="focus",
    title="Focus on a clinical attribute",
    weight=1.5,
    why="Patients chosen for what is in their chart (controlled substances from one "
    "prescriber) point to drug diversion or a targeted search, not to work.",
    reason="{n} unexplained patient(s) share one prescriber's controlled substances",
    find=find,
    per_patient=False,
)
