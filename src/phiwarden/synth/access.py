"""Legitimate EHR accesses, generated from the hospital's real workflows.

Every access comes from a work item: a user, a patient, a time span and a number of
accesses. Care teams open the chart around the visit and nurses on every shift of a
stay; registrars at check-in; technicians around the orders their department performs;
pharmacists when verifying prescriptions; schedulers while booking; call-center agents
during their calls; billers, coders and HIM analysts days after discharge; HIM analysts
while merging duplicate charts. Each opening is a short burst of audit rows (screens
viewed in one sitting). Times are then kept inside each user's shift. About 3% more are
a covering colleague of the same department opening a patient: legitimate, but no
record explains them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from phiwarden.domain.enums import DepartmentKind, Role
from phiwarden.synth.clinical import Clinical
from phiwarden.synth.columns import DAY, HOUR, MINUTE, NULL_TS, US, next_weekday
from phiwarden.synth.encounters import ATTENDING, CONSULTANT, ED, IP, NURSE, OP, TH, Encounters
from phiwarden.synth.events import Events, draw_actions
from phiwarden.synth.merges import Merges
from phiwarden.synth.organization import K, Org, R
from phiwarden.synth.population import Population
from phiwarden.synth.registration import Registrations
from phiwarden.synth.scheduling import Schedule
from phiwarden.synth.staff import Staffing
from phiwarden.synth.timeline import Window, snap_to_shift, time_in_shift

IntArray = npt.NDArray[np.int64]

UNEXPLAINED_SHARE = 0.03
#: Extra audit rows per chart opening (screens viewed in one sitting), Poisson mean.
BURST_MEAN = 0.9


@dataclass
class WorkItems:
    """Work items: (user, patient, start, end, number of accesses, share of updates)."""

    parts: list[tuple[IntArray, IntArray, IntArray, IntArray, IntArray, float]] = field(
        default_factory=list
    )

    def add(
        self,
        user: IntArray,
        patient: IntArray,
        t0: IntArray,
        t1: IntArray,
        k: IntArray,
        update: float = 0.14,
    ) -> None:
        """Add items; spans that are empty are dropped."""
        keep = (t1 > t0) & (user >= 0)
        self.parts.append((user[keep], patient[keep], t0[keep], t1[keep], k[keep], update))

    def links(self) -> tuple[IntArray, IntArray]:
        """Every (user, patient) pair some record ties together."""
        return (
            np.concatenate([p[0] for p in self.parts]),
            np.concatenate([p[1] for p in self.parts]),
        )

    def expand(self, rng: np.random.Generator) -> Events:
        """Chart openings at uniform times in their item's span, each a short burst of rows."""
        batches: list[Events] = []
        for user, patient, t0, t1, k, update in self.parts:
            rows = np.repeat(np.arange(len(user)), k)
            ts = t0[rows] + (rng.random(len(rows)) * (t1 - t0)[rows]).astype(np.int64)
            burst = 1 + rng.poisson(BURST_MEAN, len(rows))
            opening = np.repeat(np.arange(len(rows)), burst)
            step = np.arange(len(opening)) - np.repeat(np.cumsum(burst) - burst, burst)
            ts = ts[opening] + step * rng.integers(5, 90, len(opening)) * US
            item = rows[opening]
            batches.append(
                Events.of(
                    ts, user[item], patient[item], draw_actions(rng, len(item), update=update)
                )
            )
        return Events.concat(batches)


def _k(rng: np.random.Generator, lo: int, hi: int, n: int) -> IntArray:
    return rng.integers(lo, hi + 1, n)


def _care(
    items: WorkItems, window: Window, org: Org, enc: Encounters, rng: np.random.Generator
) -> None:
    e, u, role = enc.ct_enc, enc.ct_user, enc.ct_role
    etype, start, end = enc.etype[e], enc.start[e], enc.work_end(window)[e]
    p = enc.patient[e]
    office = (etype == OP) | (etype == TH)
    att = role == ATTENDING
    sel = office & att
    items.add(
        u[sel],
        p[sel],
        start[sel] - 30 * MINUTE,
        end[sel] + 2 * HOUR,
        _k(rng, 4, 9, int(sel.sum())),
        0.12,
    )
    sel = office & (role == NURSE)
    items.add(
        u[sel],
        p[sel],
        start[sel] - 20 * MINUTE,
        end[sel] + 20 * MINUTE,
        _k(rng, 2, 5, int(sel.sum())),
        0.15,
    )
    sel = (etype == ED) & att
    items.add(
        u[sel], p[sel], start[sel], end[sel] + 30 * MINUTE, _k(rng, 5, 12, int(sel.sum())), 0.12
    )
    sel = (etype == ED) & (role == NURSE)
    items.add(u[sel], p[sel], start[sel], end[sel], _k(rng, 4, 10, int(sel.sum())), 0.15)
    sel = np.flatnonzero(role == CONSULTANT)
    t = enc.ct_time[sel]
    items.add(u[sel], p[sel], t - HOUR, t + 2 * HOUR, _k(rng, 2, 5, len(sel)), 0.1)
    # inpatient stays: every day of the stay, within each member's shift
    stay = np.flatnonzero((etype == IP) & (role != CONSULTANT))
    first_day, last_day = start[stay] // DAY, end[stay] // DAY
    n_days = last_day - first_day + 1
    rows = np.repeat(stay, n_days)
    day = (
        np.repeat(first_day, n_days)
        + np.arange(int(n_days.sum()))
        - np.repeat(np.cumsum(n_days) - n_days, n_days)
    )
    uu = u[rows]
    s, f = org.shift_start[uu], org.shift_end[uu]
    length = (f - s) % 24
    t0 = np.maximum(day * DAY + s * HOUR, start[rows])
    t1 = np.minimum(day * DAY + (s + length) * HOUR, end[rows])
    is_att = role[rows] == ATTENDING
    k = np.where(is_att, _k(rng, 2, 5, len(rows)), _k(rng, 4, 10, len(rows)))
    items.add(uu, p[rows], t0, t1, k, 0.15)


def _after_discharge(
    items: WorkItems,
    window: Window,
    org: Org,
    enc: Encounters,
    staff: Staffing,
    rng: np.random.Generator,
) -> None:
    """Billers, coders and HIM analysts open discharged patients days later."""
    done = np.flatnonzero(enc.end != NULL_TS)
    for role, kind, lo, hi, k_hi, only_ip in (
        (Role.BILLER, DepartmentKind.BILLING, 1, 10, 3, False),
        (Role.CODER, DepartmentKind.CODING, 1, 5, 2, False),
        (Role.HIM_ANALYST, DepartmentKind.HIM, 1, 5, 3, True),
    ):
        e = done[enc.etype[done] == IP] if only_ip else done
        day = next_weekday(enc.end[e] // DAY + rng.integers(lo, hi + 1, len(e)))
        dept = np.full(len(e), org.depts(kind)[0])
        user = staff.pick(R[role], dept, day * DAY + 11 * HOUR, rng)
        t = time_in_shift(day, org.shift_start[user], org.shift_end[user], rng)
        items.add(user, enc.patient[e], t, t + 20 * MINUTE, _k(rng, 1, k_hi, len(e)), 0.15)


def workflow_items(
    window: Window,
    org: Org,
    enc: Encounters,
    clin: Clinical,
    sched: Schedule,
    reg: Registrations,
    merges: Merges,
    staff: Staffing,
    rng: np.random.Generator,
) -> WorkItems:
    """All work items of the hospital's records."""
    items = WorkItems()
    _care(items, window, org, enc, rng)
    n = len(reg.at)
    items.add(reg.user, reg.patient, reg.at, reg.at + 10 * MINUTE, _k(rng, 1, 3, n), 0.3)
    m = len(clin.ord_enc)
    items.add(
        clin.ord_tech,
        clin.ord_patient,
        clin.ord_done - 5 * MINUTE,
        clin.ord_done + 45 * MINUTE,
        _k(rng, 1, 3, m),
        0.1,
    )
    last_result = (
        np.flatnonzero(np.r_[clin.res_order[1:] != clin.res_order[:-1], True])
        if len(clin.res_order)
        else np.zeros(0, np.int64)
    )
    o = clin.res_order[last_result]
    at = clin.res_at[last_result]
    items.add(
        clin.ord_tech[o], clin.ord_patient[o], at - 2 * MINUTE, at, np.ones(len(o), np.int64), 0.3
    )
    review = rng.random(len(o)) < 0.6
    items.add(
        clin.ord_by[o][review],
        clin.ord_patient[o][review],
        at[review],
        at[review] + 6 * HOUR,
        np.ones(int(review.sum()), np.int64),
    )
    r = len(clin.rx_patient)
    items.add(
        clin.rx_pharmacist,
        clin.rx_patient,
        clin.rx_checked_at,
        clin.rx_checked_at + 15 * MINUTE,
        _k(rng, 1, 2, r),
        0.1,
    )
    refill = clin.rx_enc < 0
    items.add(
        clin.rx_prescriber[refill],
        clin.rx_patient[refill],
        clin.rx_at[refill] - 5 * MINUTE,
        clin.rx_at[refill] + 5 * MINUTE,
        _k(rng, 1, 2, int(refill.sum())),
        0.3,
    )
    a = len(sched.ap_patient)
    items.add(
        sched.ap_by,
        sched.ap_patient,
        sched.ap_at - 3 * MINUTE,
        sched.ap_at + 3 * MINUTE,
        _k(rng, 1, 2, a),
        0.2,
    )
    c = len(sched.call_patient)
    items.add(
        sched.call_user,
        sched.call_patient,
        sched.call_start,
        sched.call_end,
        _k(rng, 1, 3, c),
        0.08,
    )
    _after_discharge(items, window, org, enc, staff, rng)
    g = merges.n
    items.add(
        merges.by,
        merges.surviving,
        merges.at - 5 * MINUTE,
        merges.at + 30 * MINUTE,
        _k(rng, 2, 4, g),
        0.3,
    )
    return items


def legitimate_events(
    items: WorkItems,
    window: Window,
    org: Org,
    pop: Population,
    staff: Staffing,
    rng: np.random.Generator,
) -> tuple[Events, Events]:
    """Explained events (inside shifts, window and employment) and unexplained covering ones."""
    ev = items.expand(rng)
    user = ev.user.astype(np.int64)
    ev.ts = snap_to_shift(ev.ts, org.shift_start[user], org.shift_end[user], rng)
    keep = window.contains(ev.ts) & staff.active(user, ev.ts)
    ev = ev.select(keep)
    _break_the_glass(ev, org, pop, rng)
    n = len(ev)
    chosen = np.flatnonzero(rng.random(n) < UNEXPLAINED_SHARE)
    who = ev.user[chosen].astype(np.int64)
    colleague = staff.pick(org.role[who], org.dept[who], ev.ts[chosen], rng)
    ok = (colleague >= 0) & (colleague != who)
    cover = Events.of(
        ev.ts[chosen][ok],
        colleague[ok],
        ev.patient[chosen][ok].astype(np.int64),
        draw_actions(rng, int(ok.sum()), update=0.05),
    )
    return ev, cover


def _break_the_glass(ev: Events, org: Org, pop: Population, rng: np.random.Generator) -> None:
    """Emergency-department users break the glass on restricted charts, and rarely otherwise."""
    in_ed = org.dept_kind[org.dept[ev.user]] == K[DepartmentKind.EMERGENCY]
    restricted = pop.vip[ev.patient] | pop.watch[ev.patient]
    btg = in_ed & (restricted | (rng.random(len(ev)) < 0.002))
    ev.btg = btg
    ev.reason = np.where(btg, rng.integers(0, 2, len(ev)), -1).astype(np.int8)
