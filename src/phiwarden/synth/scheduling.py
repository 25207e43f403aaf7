"""Appointments and call-center calls.

Outpatient and telehealth visits were booked days to weeks before by a call-center agent
(with a call record) or a registrar; visits are also booked during the window for after
it, and some are cancelled or missed. Agents also take inbound calls all shift long:
refill requests (many from controlled-substance panel patients), billing questions,
results, records requests. Each call names the patient it was about.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from phiwarden.domain.enums import DepartmentKind, Role
from phiwarden.synth.clinical import Clinical
from phiwarden.synth.columns import (
    DAY,
    HOUR,
    MINUTE,
    NULL_DAY,
    Frame,
    take,
    to_objects,
    to_weekday,
    unique_ints,
    weekday,
)
from phiwarden.synth.encounters import OP, TH, Encounters
from phiwarden.synth.ids import dept_ids, ids, patient_ids, user_ids
from phiwarden.synth.organization import OFFICE_S, Org, R
from phiwarden.synth.places import PhoneBook
from phiwarden.synth.population import Population
from phiwarden.synth.staff import Staffing
from phiwarden.synth.timeline import Window, time_in_shift

IntArray = npt.NDArray[np.int64]
Obj = npt.NDArray[np.object_]

STATUSES = ("completed", "scheduled", "cancelled", "no_show")
REASONS = (
    "appointment scheduling",
    "prescription refill",
    "billing question",
    "test results",
    "medical records request",
    "general question",
)
REASON_P = (0.0, 0.25, 0.20, 0.15, 0.08, 0.32)
CALLS_PER_SHIFT = 12
FUTURE_BOOKINGS_PER_MONTH = 0.12


@dataclass
class Schedule:
    """Appointment rows and call rows."""

    ap_patient: IntArray
    ap_dept: IntArray
    ap_provider: IntArray
    ap_by: IntArray
    ap_at: IntArray
    ap_start: IntArray
    ap_status: IntArray
    call_patient: IntArray
    call_user: IntArray
    call_start: IntArray
    call_end: IntArray
    call_reason: IntArray
    call_phone: Obj


def _book(
    org: Org, staff: Staffing, fac: IntArray, day: IntArray, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Who booked each appointment (agent or registrar on shift) and when."""
    n = len(day)
    agent = rng.random(n) < 0.65
    cc = org.depts(DepartmentKind.CALL_CENTER)[0]
    reg = np.array(
        [org.depts(DepartmentKind.REGISTRATION, int(f))[0] for f in range(len(org.fac_name))]
    )
    dept = np.where(agent, cc, reg[fac])
    at = to_weekday(day) * DAY + ((8 + rng.random(n) * 8.5) * HOUR).astype(np.int64)
    role = np.where(agent, R[Role.CALL_CENTER_AGENT], R[Role.REGISTRAR])
    return staff.pick(role, dept, at, rng), at


def build_schedule(
    window: Window,
    org: Org,
    pop: Population,
    enc: Encounters,
    clin: Clinical,
    staff: Staffing,
    phones: PhoneBook,
    rng: np.random.Generator,
) -> Schedule:
    """Appointments (booked, future, missed) and the calls of the call center."""
    visits = np.flatnonzero(((enc.etype == OP) | (enc.etype == TH)) & (enc.forced < 0))
    lead = rng.integers(1, 46, len(visits))
    by, at = _book(org, staff, enc.fac[visits], enc.start[visits] // DAY - lead, rng)
    a_pat, a_dept, a_prov, a_start = (
        enc.patient[visits],
        enc.dept[visits],
        enc.attending[visits],
        enc.start[visits],
    )
    status = np.zeros(len(visits), dtype=np.int64)
    # missed and cancelled visits, modelled on real ones
    n_miss = int(0.06 * len(visits))
    tmpl = visits[rng.integers(0, len(visits), n_miss)] if len(visits) else np.zeros(0, np.int64)
    alive = np.flatnonzero(~pop.new & (pop.deceased == NULL_DAY))
    m_pat = alive[rng.integers(0, len(alive), n_miss)]
    m_start = (
        enc.start[tmpl]
        + (to_weekday(enc.start[tmpl] // DAY + rng.integers(1, 4, n_miss)) - enc.start[tmpl] // DAY)
        * DAY
    )
    m_by, m_at = _book(org, staff, enc.fac[tmpl], m_start // DAY - rng.integers(1, 30, n_miss), rng)
    # bookings made during the window for visits after it
    with_pcp = alive[enc.pcp[alive] >= 0]
    n_future = int(FUTURE_BOOKINGS_PER_MONTH * len(alive) * window.days / 30)
    f_pat = with_pcp[rng.integers(0, len(with_pcp), n_future)]
    f_day = window.start_day + rng.integers(0, window.days, n_future)
    f_by, f_at = _book(org, staff, pop.home_fac[f_pat], f_day, rng)
    f_start = to_weekday(f_day + rng.integers(3, 60, n_future)) * DAY + (
        8 * HOUR + rng.integers(0, 33, n_future) * 15 * MINUTE
    )
    f_prov = enc.pcp[f_pat]
    ap = {
        "patient": np.concatenate([a_pat, m_pat, f_pat]),
        "dept": np.concatenate([a_dept, enc.dept[tmpl], org.dept[f_prov]]),
        "provider": np.concatenate([a_prov, enc.attending[tmpl], f_prov]),
        "by": np.concatenate([by, m_by, f_by]),
        "at": np.concatenate([at, m_at, f_at]),
        "start": np.concatenate([a_start, m_start, f_start]),
        "status": np.concatenate(
            [status, np.where(rng.random(n_miss) < 0.6, 2, 3), np.full(n_future, 1)]
        ),
    }
    ap["at"] = np.minimum(ap["at"], ap["start"] - HOUR)
    order = np.lexsort((ap["patient"], ap["at"]))
    ap = {k: v[order] for k, v in ap.items()}
    calls = _calls(window, org, pop, enc, clin, staff, ap, rng)
    home, mobile = pop.phone[calls[0]], pop.mobile[calls[0]]
    pick = rng.random(len(calls[0]))
    phone = np.where((pick < 0.3) & mobile.astype(bool), mobile, home)
    other = pick > 0.92
    phone[other] = to_objects(phones.allocate(pop.city[calls[0][other]]))
    return Schedule(
        ap_patient=ap["patient"],
        ap_dept=ap["dept"],
        ap_provider=ap["provider"],
        ap_by=ap["by"],
        ap_at=ap["at"],
        ap_start=ap["start"],
        ap_status=ap["status"],
        call_patient=calls[0],
        call_user=calls[1],
        call_start=calls[2],
        call_end=calls[3],
        call_reason=calls[4],
        call_phone=phone,
    )


def _calls(
    window: Window,
    org: Org,
    pop: Population,
    enc: Encounters,
    clin: Clinical,
    staff: Staffing,
    ap: dict[str, IntArray],
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
    booked = np.flatnonzero(org.role[ap["by"]] == R[Role.CALL_CENTER_AGENT])
    b_start = ap["at"][booked] - rng.integers(1, 5, len(booked)) * MINUTE
    b_end = ap["at"][booked] + rng.integers(1, 4, len(booked)) * MINUTE
    agents = np.flatnonzero(org.role == R[Role.CALL_CENTER_AGENT])
    days = window.start_day + np.arange(window.days)
    a = np.repeat(agents, len(days))
    d = np.tile(days, len(agents))
    wd = weekday(d)
    off = np.where(org.shift[a] == OFFICE_S, wd >= 5, (wd - a * 3) % 7 < 2)
    works = ~off & staff.active(a, d * DAY)
    a, d = a[works], d[works]
    count = rng.poisson(CALLS_PER_SHIFT, len(a))
    user = np.repeat(a, count)
    start = time_in_shift(np.repeat(d, count), org.shift_start[user], org.shift_end[user], rng)
    end = start + rng.integers(2, 16, len(user)) * MINUTE
    p = np.array(REASON_P)
    reason = rng.choice(len(REASONS), size=len(user), p=p / p.sum())
    alive = np.flatnonzero(~pop.new & (pop.deceased == NULL_DAY))
    pools = {
        1: np.concatenate([np.flatnonzero(clin.panel_drug >= 0), unique_ints(clin.rx_patient)]),
        2: unique_ints(enc.patient),
        3: unique_ints(clin.res_patient),
    }
    patient = alive[rng.integers(0, len(alive), len(user))]
    for r, pool in pools.items():
        rows = np.flatnonzero(reason == r)
        if len(pool):
            patient[rows] = pool[rng.integers(0, len(pool), len(rows))]
    patient = np.concatenate([ap["patient"][booked], patient])
    user = np.concatenate([ap["by"][booked], user])
    start = np.concatenate([b_start, start])
    end = np.concatenate([b_end, end])
    reason = np.concatenate([np.zeros(len(booked), np.int64), reason])
    keep = start < window.end
    order = np.flatnonzero(keep)[np.lexsort((user[keep], start[keep]))]
    return patient[order], user[order], start[order], end[order], reason[order]


def appointments_frame(s: Schedule) -> Frame:
    """The ``appointments`` table columns."""
    return {
        "appointment_id": ids("AP", np.arange(len(s.ap_patient))),
        "patient_id": patient_ids(s.ap_patient),
        "department_id": dept_ids(s.ap_dept),
        "provider_user_id": user_ids(s.ap_provider),
        "scheduled_by_user_id": user_ids(s.ap_by),
        "scheduled_at": s.ap_at,
        "start": s.ap_start,
        "status": take(STATUSES, s.ap_status),
    }


def calls_frame(s: Schedule) -> Frame:
    """The ``calls`` table columns."""
    return {
        "call_id": ids("C", np.arange(len(s.call_patient))),
        "patient_id": patient_ids(s.call_patient),
        "user_id": user_ids(s.call_user),
        "start": s.call_start,
        "end": s.call_end,
        "reason": take(REASONS, s.call_reason),
        "caller_phone": pa.array(s.call_phone, pa.string(), from_pandas=True),
    }
