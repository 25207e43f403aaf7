"""Registrations at check-in and the payer's eligibility answer (X12 271) for each.

Every encounter has one registration by a registrar of its facility on shift, with the
identifiers the person presented: normally their own record, with a little honest noise
(a typo, an SSN not given, an old address). The eligibility response returns the
identity the payer holds for the presented member id: the coverage's own member, so a
presented member id that belongs to someone else comes back with another person's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from phiwarden.domain.enums import DepartmentKind, Role
from phiwarden.synth.columns import MINUTE, US, Frame, blank, concat, fixed_ids, take, to_objects
from phiwarden.synth.coverage import PAYERS, Coverages
from phiwarden.synth.encounters import ED, IP, Encounters
from phiwarden.synth.ids import (
    coverage_ids,
    encounter_ids,
    facility_ids,
    ids,
    patient_ids,
    registration_ids,
    user_ids,
)
from phiwarden.synth.organization import Org, R
from phiwarden.synth.places import Places
from phiwarden.synth.population import Population
from phiwarden.synth.staff import Staffing
from phiwarden.synth.timeline import Window

IntArray = npt.NDArray[np.int64]
Obj = npt.NDArray[np.object_]

ID_TYPES = ("drivers_license", "state_id", "passport")
SEXES = ("F", "M")


@dataclass
class Registrations:
    """Registration rows (row i registers encounter i) and eligibility responses."""

    patient: IntArray
    user: IntArray
    at: IntArray
    coverage: IntArray  # coverage row behind the presented member id, -1 if none
    frame: Frame
    elig_reg: IntArray
    elig: Frame


def _typo(name: str, k: int) -> str:
    if len(name) < 4:
        return name + name[-1]
    i = 1 + k % (len(name) - 2)
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def build_registrations(
    window: Window,
    org: Org,
    pop: Population,
    cov: Coverages,
    enc: Encounters,
    staff: Staffing,
    overrides: dict[int, dict[str, Any]],
    coverage_override: dict[int, int],
    rng: np.random.Generator,
) -> Registrations:
    """One registration per encounter; ``overrides`` replace presented values per encounter."""
    n = enc.n
    p = enc.patient
    before = np.select(
        [enc.etype == ED, enc.etype == IP],
        [-rng.integers(0, 10, n), rng.integers(10, 45, n)],
        rng.integers(5, 25, n),
    )
    at = enc.start - before * MINUTE - rng.integers(0, 60, n) * US
    reg_dept = np.array(
        [org.depts(DepartmentKind.REGISTRATION, f)[0] for f in range(len(org.fac_name))]
    )
    user = staff.pick(R[Role.REGISTRAR], reg_dept[enc.fac], at, rng)
    covrow = cov.primary[p].copy()
    for e, c in coverage_override.items():
        covrow[e] = c
    has_cov = covrow >= 0
    safe = np.maximum(covrow, 0)
    first = pop.first[p].copy()
    typo = np.flatnonzero(rng.random(n) < 0.01)
    first[typo] = [_typo(str(first[i]), int(i)) for i in typo]
    ssn = pop.ssn[p].copy()
    ssn[rng.random(n) < 0.005] = None
    swap = np.flatnonzero((rng.random(n) < 0.002) & ssn.astype(bool))
    ssn[swap] = [s[:7] + s[8] + s[7] + s[9:] for s in ssn[swap]]
    city = pop.city[p].copy()
    line, zips = pop.address_line[p].copy(), pop.zip[p].copy()
    old = np.flatnonzero(pop.moved[p] & (rng.random(n) < 0.05))
    city[old], line[old], zips[old] = (
        pop.prev_city[p[old]],
        pop.prev_line[p[old]],
        pop.prev_zip[p[old]],
    )
    phone = np.where(
        (rng.random(n) < 0.3) & pop.mobile[p].astype(bool), pop.mobile[p], pop.phone[p]
    )
    minor = pop.age_years(window.start_day)[p] < 18
    id_type = np.where(minor, -1, rng.choice(4, size=n, p=(0.85, 0.08, 0.05, 0.02)))
    id_type = np.where(id_type == 3, -1, id_type)
    number = fixed_ids("", (p * 2654435761 + 12345) % 1_000_000_000, 9)
    states = Places.states(pop.city[p])
    id_number = to_objects(concat(take(["", "ID", "P"], np.maximum(id_type, 0)), number))
    id_number[id_type == 0] = to_objects(concat(states, number))[id_type == 0]
    id_number[id_type < 0] = None
    frame: Frame = {
        "registration_id": registration_ids(np.arange(n)),
        "patient_id": to_objects(patient_ids(p)),
        "mrn": pop.mrn[p].copy(),
        "registered_by_user_id": user_ids(user),
        "registered_at": at,
        "facility_id": facility_ids(enc.fac),
        "encounter_id": encounter_ids(np.arange(n)),
        "presented_first_name": first,
        "presented_last_name": pop.last[p].copy(),
        "presented_dob": pop.dob[p].copy(),
        "presented_sex": to_objects(take(SEXES, pop.sex[p])),
        "presented_ssn": ssn,
        "presented_address_line": line,
        "presented_city": to_objects(Places.city_names(city)),
        "presented_state": to_objects(Places.states(city)),
        "presented_zip": zips,
        "presented_phone": phone,
        "presented_payer": blank(to_objects(take(PAYERS, cov.payer[safe])), has_cov),
        "presented_member_id": blank(cov.member_id[safe], has_cov),
        "id_type": to_objects(take(ID_TYPES, id_type)),
        "id_number": id_number,
        "id_checked": rng.random(n) < 0.93,
        "photo_on_file": rng.random(n) < 0.85,
    }
    for e, values in overrides.items():
        for column, value in values.items():
            frame[column][e] = value
    elig_reg = np.flatnonzero(has_cov)
    elig = _eligibility(pop, cov, covrow[elig_reg], elig_reg, at[elig_reg], frame, rng)
    return Registrations(
        patient=p, user=user, at=at, coverage=covrow, frame=frame, elig_reg=elig_reg, elig=elig
    )


def _eligibility(
    pop: Population,
    cov: Coverages,
    c: IntArray,
    reg: IntArray,
    at: IntArray,
    frame: Frame,
    rng: np.random.Generator,
) -> Frame:
    """The payer's view of each presented member: the coverage's own member identity."""
    m = len(c)
    member = cov.patient[c]
    last = pop.last[member].copy()
    maiden = (pop.previous[member].astype(bool)) & (rng.random(m) < 0.25)
    last[maiden] = [str(v).split(",")[0] for v in pop.previous[member[maiden]]]
    subscriber = cov.relationship[c] == 0
    ssn = blank(pop.ssn[member], subscriber & (rng.random(m) < 0.7))
    aaa = blank(np.full(m, "75", dtype=object), rng.random(m) < 0.002)
    return {
        "response_id": ids("ER", np.arange(m)),
        "registration_id": registration_ids(reg),
        "coverage_id": coverage_ids(c),
        "payer": to_objects(take(PAYERS, cov.payer[c])),
        "member_id": np.asarray(frame["presented_member_id"], dtype=object)[reg],
        "loop": np.where(subscriber, "2100C", "2100D").astype(object),
        "first_name": pop.first[member].copy(),
        "last_name": last,
        "dob": pop.dob[member].copy(),
        "sex": to_objects(take(SEXES, pop.sex[member])),
        "ssn": ssn,
        "address_line": pop.address_line[member].copy(),
        "city": to_objects(Places.city_names(pop.city[member])),
        "state": to_objects(Places.states(pop.city[member])),
        "zip": pop.zip[member].copy(),
        "aaa_code": aaa.astype(object),
        "ins_changed": rng.random(m) < 0.01,
        "received_at": at + rng.integers(2, 40, m) * US,
    }
