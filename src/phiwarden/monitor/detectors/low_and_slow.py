"""Low and slow: a few unrelated patients week after week, more than the user's peers.

A snooper who opens one or two records a week stays under every volume threshold. What
gives them away is persistence: week after week they open patients who had no encounter
and no appointment in the user's own department in the window (unrelated to the user's
work), and no workflow explains it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable

import ibis.expr.types as ir
import pyarrow as pa

from phiwarden.monitor.chance import surprise
from phiwarden.monitor.signals import Detector, Inputs, signal

#: A peer's rate counts when they have this many openings, and a role's median when it
#: has this many such peers.
PEER_MIN_OPENINGS = 30
PEER_MIN_USERS = 3


def _unrelated(inputs: Inputs) -> ir.Table:
    """Unexplained pairs whose patient had no encounter or appointment in the user's department."""
    ctx, p, w = inputs.ctx, inputs.pairs, inputs.workforce
    home = w.select(hu=w.user_id, hdept=w.department_id)
    e, a = ctx["encounters"], ctx["appointments"]
    seen = (
        e.select(pid=e.patient_id, dept=e.department_id)
        .union(a.select(pid=a.patient_id, dept=a.department_id))
        .distinct()
    )
    j = p.join(home, p.user_id == home.hu)
    return j.anti_join(seen, (j.patient_id == seen.pid) & (j.hdept == seen.dept)).select(
        "user_id", "patient_id", "first"
    )


def _trimmed_rate(peers: list[tuple[int, int]]) -> float:
    """Pooled rate (hits per opening) of the lower half of peers ``(hits, openings)``.

    Like a median, the peers with the highest rates do not count, so snoopers among them
    cannot make snooping look ordinary; unlike a median it is not zero when most peers
    have no hit (a rate of zero becomes half a hit over the kept peers' openings).
    """
    ranked = sorted(peers, key=lambda p: p[0] / p[1])
    kept = ranked[: (len(ranked) + 1) // 2]
    total = sum(n for _, n in kept)
    return max(sum(k for k, _ in kept), 0.5) / total if total else 0.0


def _peer_rates(
    openings: dict[str, int], hits: Counter[str], roles: dict[str, object]
) -> Callable[[str], float]:
    """user -> the rate of unrelated patients per opening among the user's peers.

    Peers are same-role users with at least ``PEER_MIN_OPENINGS`` openings, the user left
    out; with fewer than ``PEER_MIN_USERS`` of them, every such user.
    """
    by_role: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for user, n in openings.items():
        if n >= PEER_MIN_OPENINGS:
            by_role[str(roles.get(user))].append((user, hits[user], int(n)))
    everyone = [(k, n) for group in by_role.values() for _, k, n in group]
    overall = _trimmed_rate(everyone)

    def rate(user: str) -> float:
        peers = [(k, n) for u, k, n in by_role[str(roles.get(user))] if u != user]
        return _trimmed_rate(peers) if len(peers) >= PEER_MIN_USERS else overall

    return rate


def find(inputs: Inputs) -> ir.Table:
    """Users with unrelated unexplained patients in many weeks, beyond what peers show.

    Chance is the peers' rate of unrelated unexplained patients per opening
    (:func:`_peer_rates`) times the user's openings. Implicated: those patients.
    """
    cfg = inputs.ctx.config
    found = _unrelated(inputs).to_pyarrow()
    o = inputs.openings
    volume = o.group_by("user_id").aggregate(n=o.count()).to_pyarrow()
    openings = dict(zip(volume["user_id"].to_pylist(), volume["n"].to_pylist(), strict=True))
    roles = inputs.of_users("role")
    since = inputs.ctx.window.since
    weeks: dict[str, set[int]] = defaultdict(set)
    hits: Counter[str] = Counter()
    for user, first in zip(found["user_id"].to_pylist(), found["first"].to_pylist(), strict=True):
        hits[user] += 1
        weeks[user].add((first.date() - since).days // 7)
    rates = _peer_rates(openings, hits, roles)
    why: dict[str, str] = {}
    for user, k in hits.items():
        if len(weeks[user]) < cfg.low_slow_min_weeks or k < cfg.low_slow_min_patients:
            continue
        expected = rates(user) * int(openings.get(user, 0))
        if surprise(k, expected) >= cfg.low_slow_min_surprise:
            why[user] = (
                f"{k} unrelated patients in {len(weeks[user])} weeks; "
                f"peers' rate would give {expected:.2g}"
            )
    users = found["user_id"].to_pylist()
    keep = [i for i, user in enumerate(users) if user in why]
    implicated = inputs.ctx.register(
        "low_and_slow_flagged",
        pa.table(
            {
                "user_id": pa.array([users[i] for i in keep], pa.string()),
                "patient_id": found["patient_id"].take(pa.array(keep, pa.int64())),
                "why": pa.array([why[users[i]] for i in keep], pa.string()),
            }
        ),
    )
    return signal(implicated, implicated.user_id, implicated.patient_id, implicated.why)


DETECTOR = Detector(
    code="low_and_slow",
    title="Low and slow",
    weight=0.6,
    why="Opening a few unrelated records every week stays under volume thresholds for "
    "months; the persistence across weeks, far beyond peers, is the signal.",
    reason="{n} unrelated patient(s) opened week after week, beyond what peers do",
    find=find,
    per_patient=False,
)
