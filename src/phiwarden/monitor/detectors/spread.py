"""Spread: unexplained patients from many more states than the user's peers see."""

from __future__ import annotations

from collections import defaultdict

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from phiwarden.monitor.signals import Detector, Inputs, signal


def find(inputs: Inputs) -> ir.Table:
    """Users whose unexplained patients live in more states than 95% of peers' do.

    Peers are users with the same role. Implicated patients are those living outside the
    user's own state. A supporting reason: its weight alone stays below the threshold.
    """
    cfg = inputs.ctx.config
    p, pt, w = inputs.pairs, inputs.patients, inputs.workforce
    st = pt.select(spid=pt.patient_id, pstate=pt.state)
    j = p.join(st, p.patient_id == st.spid)
    states = j.group_by("user_id").aggregate(n=j.pstate.nunique()).to_pyarrow()
    group = inputs.of_users("role")
    by_group: dict[object, list[int]] = defaultdict(list)
    count = dict(zip(states["user_id"].to_pylist(), states["n"].to_pylist(), strict=True))
    for user in group:
        by_group[group[user]].append(int(count.get(user, 0)))
    rows: list[tuple[str, str]] = []
    for user, n in count.items():
        peers = list(by_group[group.get(user)])
        if int(n) in peers:
            peers.remove(int(n))  # the user is not their own peer
        p95 = float(np.percentile(peers, 95)) if peers else 0.0
        if n >= cfg.spread_min_states and n >= p95 + cfg.spread_over_peers:
            rows.append((user, f"unexplained patients in {n} states; peers at most {p95:g}"))
    flagged = inputs.ctx.register(
        "spread_flagged",
        pa.table(
            {
                "fu": pa.array([r[0] for r in rows], pa.string()),
                "why": pa.array([r[1] for r in rows], pa.string()),
            }
        ),
    )
    home = w.select(hu=w.user_id, hstate=w.state)
    f = j.join(flagged, j.user_id == flagged.fu)
    k = f.left_join(home, f.user_id == home.hu)
    k = k.filter((k.pstate != k.hstate).fill_null(True))
    return signal(k, k.user_id, k.patient_id, k.why)


DETECTOR = Detector(
    code="spread",
    title="Spread across states",
    weight=0.6,
    why="A user whose unexplained patients come from many more states than colleagues' is "
    "not following local work; the seed case crossed several states.",
    reason="{n} unexplained patient(s) from out-of-state, far beyond peers",
    find=find,
    per_patient=False,
)
