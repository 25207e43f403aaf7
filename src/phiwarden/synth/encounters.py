"""Encounters and their care teams: visits and stays across the window and just before it.

Each established patient has a Poisson number of encounters (more for the elderly);
outpatient visits happen on weekdays in office hours, mostly with the patient's primary
care physician (PCP); emergency visits at any hour; inpatient stays last days and have a
nurse on every shift. Forced encounters (walk-in patients, injected identity thefts) are
added with a given patient, type and day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from phiwarden.domain.enums import DepartmentKind, EncounterType, Role
from phiwarden.synth.columns import (
    DAY,
    HOUR,
    MINUTE,
    NULL_DAY,
    NULL_TS,
    Frame,
    first_occurrences,
    take,
    to_weekday,
)
from phiwarden.synth.ids import dept_ids, encounter_ids, facility_ids, ids, patient_ids, user_ids
from phiwarden.synth.organization import SPECIALTIES, Org, R
from phiwarden.synth.population import Population
from phiwarden.synth.staff import Staffing
from phiwarden.synth.timeline import LEAD_DAYS, Window

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

ENC_TYPES: tuple[str, ...] = tuple(t.value for t in EncounterType)
OP, IP, ED, TH = (
    ENC_TYPES.index(t.value)
    for t in (
        EncounterType.OUTPATIENT,
        EncounterType.INPATIENT,
        EncounterType.EMERGENCY,
        EncounterType.TELEHEALTH,
    )
)
CARE_ROLES: tuple[str, ...] = ("attending", "nurse", "consultant")
ATTENDING, NURSE, CONSULTANT = range(3)
#: Encounters per established patient per 30 days (scaled up for older patients).
ENCOUNTERS_PER_MONTH = 0.62
TYPE_P = {OP: 0.60, TH: 0.12, ED: 0.17, IP: 0.11}
PCP_SHARE = 0.85


@dataclass
class Forced:
    """Encounters requested by other modules: patient, type, day number and extras."""

    patient: IntArray
    etype: IntArray
    day: IntArray
    abo: IntArray  # blood type index to report on an ABO/Rh result, -1 for none forced
    account_group: IntArray  # -1, or a group id: encounters billed on a separate account


@dataclass
class Encounters:
    """Encounter rows, care-team rows and each patient's PCP."""

    patient: IntArray
    etype: IntArray
    dept: IntArray
    fac: IntArray
    start: IntArray
    end: IntArray  # NULL_TS while still open at the window's end
    attending: IntArray
    forced: IntArray  # row of Forced, -1 for sampled encounters
    ct_enc: IntArray
    ct_user: IntArray
    ct_role: IntArray
    ct_time: IntArray  # when the member joined (consultants: the consult)
    pcp: IntArray

    @property
    def n(self) -> int:
        """Number of encounters."""
        return len(self.patient)

    def work_end(self, window: Window) -> IntArray:
        """End of each encounter, the window's end for open ones."""
        return np.where(self.end == NULL_TS, window.end, self.end)


def assign_pcps(org: Org, pop: Population, staff: Staffing, rng: np.random.Generator) -> IntArray:
    """A primary-care physician for most patients: at the home facility, some at the flagship."""
    pc_depts = org.specialty_depts("Primary Care")
    pcps = np.concatenate([staff.members(R[Role.PHYSICIAN], int(d)) for d in pc_depts])
    if len(pcps) == 0:
        pcps = staff.members(R[Role.PHYSICIAN])
    pcp_fac = org.user_fac[pcps]
    flagship = pcps[pcp_fac == 0] if (pcp_fac == 0).any() else pcps
    out = np.full(pop.n, -1, dtype=np.int64)
    has = ~pop.new & (rng.random(pop.n) < PCP_SHARE)
    cross = rng.random(pop.n) < 0.15
    for f in np.unique(pop.home_fac):
        rows = np.flatnonzero(has & (pop.home_fac == f))
        local = pcps[pcp_fac == f]
        pool = local if len(local) else flagship
        choice = pool[rng.integers(0, len(pool), len(rows))]
        far = cross[rows]
        choice[far] = flagship[rng.integers(0, len(flagship), int(far.sum()))]
        out[rows] = choice
    return out


def _sample(
    window: Window, pop: Population, rng: np.random.Generator
) -> tuple[IntArray, IntArray, IntArray]:
    age = pop.age_years(window.start_day)
    eligible = ~pop.new & (pop.deceased == NULL_DAY)
    rate = ENCOUNTERS_PER_MONTH * np.where(age >= 65, 1.7, np.where(age < 18, 0.8, 1.0))
    period = LEAD_DAYS + window.days
    counts = rng.poisson(rate * period / 30.0) * eligible
    patient = np.repeat(np.arange(pop.n), counts)
    n = len(patient)
    types = np.array(list(TYPE_P))
    probs = np.array(list(TYPE_P.values()))
    etype = types[rng.choice(len(types), size=n, p=probs / probs.sum())]
    child_ip = (etype == IP) & (age[patient] < 18) & (rng.random(n) < 0.5)
    etype[child_ip] = OP
    day = window.start_day - LEAD_DAYS + rng.integers(0, period, n)
    return patient, etype, day


def _start_times(
    etype: IntArray, day: IntArray, window: Window, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    n = len(etype)
    office = (etype == OP) | (etype == TH)
    day = np.where(office, to_weekday(day), day)
    day = np.where(day >= window.end_day, day - 3, day)
    slot = rng.integers(0, 33, n)  # quarter hours from 08:00 to 16:00
    ed_hour = rng.choice(24, size=n, p=_ed_hours())
    ip_hour = np.where(
        rng.random(n) < 0.45, rng.choice(24, size=n, p=_ed_hours()), rng.integers(7, 12, n)
    )
    minute = rng.integers(0, 60, n)
    start = day * DAY + np.where(
        office,
        8 * HOUR + slot * 15 * MINUTE,
        np.where(etype == ED, ed_hour * HOUR + minute * MINUTE, ip_hour * HOUR + minute * MINUTE),
    )
    los = np.minimum(1 + rng.geometric(0.35, n), 14)
    duration = np.select(
        [etype == OP, etype == TH, etype == ED],
        [
            rng.integers(20, 61, n) * MINUTE,
            rng.integers(10, 31, n) * MINUTE,
            rng.integers(120, 600, n) * MINUTE,
        ],
        los * DAY + rng.integers(-4 * 60, 4 * 60, n) * MINUTE,
    )
    end = start + duration
    end = np.where(end >= window.end, NULL_TS, end)
    return start, end


def _ed_hours() -> npt.NDArray[np.float64]:
    w = np.array(
        [
            2,
            1.5,
            1.2,
            1,
            1,
            1.2,
            2,
            3,
            4,
            5,
            5.5,
            5.5,
            5.5,
            5.5,
            5.5,
            5.5,
            6,
            6,
            6,
            5.5,
            5,
            4.5,
            3.5,
            2.5,
        ]
    )
    return w / w.sum()


def _departments(
    org: Org,
    pop: Population,
    patient: IntArray,
    etype: IntArray,
    pcp: IntArray,
    window: Window,
    staff: Staffing,
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray]:
    """Department of each encounter, and the PCP as attending where the visit is with them."""
    n = len(patient)
    fac = pop.home_fac[patient]
    dept = np.zeros(n, dtype=np.int64)
    with_pcp = ((etype == OP) & (rng.random(n) < 0.55) | (etype == TH) & (rng.random(n) < 0.7)) & (
        pcp[patient] >= 0
    )
    attending = np.where(with_pcp, pcp[patient], -1)
    dept[with_pcp] = org.dept[pcp[patient[with_pcp]]]
    age = pop.age_years(window.start_day)[patient]
    doctors = np.bincount(org.dept[staff.members(R[Role.PHYSICIAN])], minlength=len(org.dept_name))
    for f in np.unique(fac):
        at = fac == f
        ed = org.depts(DepartmentKind.EMERGENCY, int(f))
        clinical = org.depts(DepartmentKind.CLINICAL, int(f))
        staffed = clinical[doctors[clinical] > 0]
        clinical = staffed if len(staffed) else clinical  # visits go where physicians work
        spec = org.dept_specialty[clinical]
        with_beds = np.array([SPECIALTIES[s][1] for s in spec], dtype=bool)
        beds = clinical[with_beds] if with_beds.any() else clinical
        clinics = clinical[spec != 0] if (spec != 0).any() else clinical
        rows = np.flatnonzero(at & (etype == ED))
        dept[rows] = ed[0]
        rows = np.flatnonzero(at & ~with_pcp & ((etype == OP) | (etype == TH)))
        dept[rows] = clinics[rng.integers(0, len(clinics), len(rows))]
        rows = np.flatnonzero(at & (etype == IP))
        w = np.where(org.dept_specialty[beds] == 1, 3.0, 1.0)
        dept[rows] = beds[rng.choice(len(beds), size=len(rows), p=w / w.sum())]
        peds = beds[org.dept_specialty[beds] == 3]
        kids = rows[age[rows] < 18]
        if len(peds) and len(kids):
            dept[kids] = peds[0]
    return dept, attending


def build_encounters(
    window: Window,
    org: Org,
    pop: Population,
    staff: Staffing,
    forced: Forced,
    rng: np.random.Generator,
) -> Encounters:
    """Sampled and forced encounters, with attending, care team and PCP assignment."""
    pcp = assign_pcps(org, pop, staff, rng)
    patient, etype, day = _sample(window, pop, rng)
    n_sampled = len(patient)
    patient = np.concatenate([patient, forced.patient])
    etype = np.concatenate([etype, forced.etype])
    day = np.concatenate([day, forced.day])
    forced_row = np.concatenate([np.full(n_sampled, -1), np.arange(len(forced.patient))])
    start, end = _start_times(etype, day, window, rng)
    order = np.lexsort((patient, start))
    patient, etype, start, end, forced_row = (
        a[order] for a in (patient, etype, start, end, forced_row)
    )
    dept, attending = _departments(org, pop, patient, etype, pcp, window, staff, rng)
    fac = org.dept_fac[dept]
    need = attending < 0
    at_time = np.where(etype == IP, (start // DAY) * DAY + 10 * HOUR, start)
    attending[need] = staff.pick(R[Role.PHYSICIAN], dept[need], at_time[need], rng)
    enc = Encounters(
        patient=patient,
        etype=etype,
        dept=dept,
        fac=fac,
        start=start,
        end=end,
        attending=attending,
        forced=forced_row,
        ct_enc=np.zeros(0, np.int64),
        ct_user=np.zeros(0, np.int64),
        ct_role=np.zeros(0, np.int64),
        ct_time=np.zeros(0, np.int64),
        pcp=pcp,
    )
    _care_team(enc, org, staff, window, rng)
    return enc


def _care_team(
    enc: Encounters, org: Org, staff: Staffing, window: Window, rng: np.random.Generator
) -> None:
    n = enc.n
    rows: list[tuple[IntArray, IntArray, int, IntArray]] = []
    idx = np.arange(n)
    rows.append((idx, enc.attending, ATTENDING, enc.start))
    op = idx[(enc.etype == OP) & (rng.random(n) < 0.85)]
    rows.append(
        (op, staff.pick(R[Role.NURSE], enc.dept[op], enc.start[op], rng), NURSE, enc.start[op])
    )
    ed = idx[enc.etype == ED]
    for share in (1.0, 0.6):
        sel = ed[rng.random(len(ed)) < share]
        rows.append(
            (
                sel,
                staff.pick(R[Role.NURSE], enc.dept[sel], enc.start[sel], rng),
                NURSE,
                enc.start[sel],
            )
        )
    ip = idx[enc.etype == IP]
    admit_day = (enc.start[ip] // DAY) * DAY
    for hour in (10, 18, 26):
        t = np.maximum(admit_day + hour * HOUR, enc.start[ip])
        rows.append((ip, staff.pick(R[Role.NURSE], enc.dept[ip], t, rng), NURSE, t))
    long_stay = ip[(enc.work_end(window)[ip] - enc.start[ip]) > 4 * DAY]
    t = (enc.start[long_stay] // DAY + 3) * DAY + 10 * HOUR
    rows.append((long_stay, staff.pick(R[Role.NURSE], enc.dept[long_stay], t, rng), NURSE, t))
    for share in (0.5, 0.2):
        sel = ip[rng.random(len(ip)) < share]
        span = np.maximum(enc.work_end(window)[sel] - enc.start[sel], HOUR)
        when = (
            enc.start[sel] + (rng.random(len(sel)) * span).astype(np.int64)
        ) // DAY * DAY + 11 * HOUR
        other = _other_clinic(org, enc.dept[sel], rng)
        rows.append((sel, staff.pick(R[Role.PHYSICIAN], other, when, rng), CONSULTANT, when))
    ct_enc = np.concatenate([r[0] for r in rows])
    ct_user = np.concatenate([r[1] for r in rows])
    ct_role = np.concatenate([np.full(len(r[0]), r[2]) for r in rows])
    ct_time = np.concatenate([r[3] for r in rows])
    key = ct_enc * (org.n_users + 1) + ct_user
    first = np.flatnonzero(first_occurrences(key))  # one row per member of a team
    order = first[np.argsort(ct_enc[first], kind="stable")]
    enc.ct_enc, enc.ct_user, enc.ct_role, enc.ct_time = (
        ct_enc[order],
        ct_user[order],
        ct_role[order],
        ct_time[order],
    )


def _other_clinic(org: Org, dept: IntArray, rng: np.random.Generator) -> IntArray:
    """Another clinical department at the same facility (for a consult)."""
    out = dept.copy()
    fac = org.dept_fac[dept]
    for f in np.unique(fac):
        rows = np.flatnonzero(fac == f)
        clinics = org.depts(DepartmentKind.CLINICAL, int(f))
        out[rows] = clinics[rng.integers(0, len(clinics), len(rows))]
    return out


def encounter_frame(enc: Encounters) -> Frame:
    """The ``encounters`` table columns."""
    return {
        "encounter_id": encounter_ids(np.arange(enc.n)),
        "patient_id": patient_ids(enc.patient),
        "type": take(ENC_TYPES, enc.etype),
        "department_id": dept_ids(enc.dept),
        "facility_id": facility_ids(enc.fac),
        "start": enc.start,
        "end": enc.end,
        "attending_user_id": user_ids(enc.attending),
    }


def care_team_frame(enc: Encounters) -> Frame:
    """The ``care_team`` table columns."""
    return {
        "care_team_id": ids("CT", np.arange(len(enc.ct_enc))),
        "encounter_id": encounter_ids(enc.ct_enc),
        "user_id": user_ids(enc.ct_user),
        "role": take(CARE_ROLES, enc.ct_role),
    }
