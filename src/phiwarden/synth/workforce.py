"""Who the workforce members are: names, homes, phones, logins, and which are patients.

About 40% of the workforce are also patients of the system: their workforce record
carries exactly the name, address and home phone of their patient record, so their
families and co-workers are in the index too. The others live on the same streets as
patients in the towns around their facility, so neighbours exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from phiwarden.synth.columns import NULL_DAY, Frame, date_array, day_number, take, to_objects
from phiwarden.synth.ids import dept_ids, user_ids
from phiwarden.synth.names import draw_names, draw_surnames, vocab
from phiwarden.synth.organization import ROLES, Org
from phiwarden.synth.places import PhoneBook, Places
from phiwarden.synth.population import CHILD, Population
from phiwarden.synth.spec import SynthSpec

IntArray = npt.NDArray[np.int64]
Obj = npt.NDArray[np.object_]

EMPLOYEE_PATIENT_SHARE = 0.4


@dataclass
class People:
    """Identity of each workforce member, by user position."""

    first: Obj
    last: Obj
    address_line: Obj
    city: IntArray
    street: IntArray
    zip: Obj
    phone: Obj
    login: Obj
    patient: IntArray  # -1 when not a patient


def _logins(first: Obj, last: Obj) -> Obj:
    seen: dict[str, int] = {}
    out = np.empty(len(first), dtype=object)
    for i, (f, la) in enumerate(zip(first, last, strict=True)):
        base = (str(f)[0] + str(la)).lower().replace(" ", "").replace("'", "")
        k = seen.get(base, 0) + 1
        seen[base] = k
        out[i] = base if k == 1 else f"{base}{k}"
    return out


def build_people(
    spec: SynthSpec,
    org: Org,
    pop: Population,
    places: Places,
    phones: PhoneBook,
    rng: np.random.Generator,
) -> People:
    """Identities for the workforce; marks the employees among the patients."""
    n = org.n_users
    start = day_number(spec.start)
    age = pop.age_years(start)
    candidate = (
        ~pop.new
        & (pop.deceased == NULL_DAY)
        & ~pop.vip
        & ~pop.watch
        & (pop.member != CHILD)
        & (age >= 22)
        & (age < 66)
    )
    patient = np.full(n, -1, dtype=np.int64)
    wants = rng.random(n) < EMPLOYEE_PATIENT_SHARE
    user_fac = org.user_fac
    taken = np.zeros(pop.n, dtype=bool)
    for f in np.unique(user_fac):
        users = np.flatnonzero(wants & (user_fac == f))
        pool = np.flatnonzero(candidate & (pop.home_fac == f) & ~taken)
        if len(pool) < len(users):
            pool = np.flatnonzero(candidate & ~taken)
        chosen = rng.choice(pool, size=min(len(users), len(pool)), replace=False)
        patient[users[: len(chosen)]] = chosen
        taken[chosen] = True
    is_pat = patient >= 0
    sex = (rng.random(n) < 0.45).astype(np.int64)
    first = to_objects(draw_names(rng, sex))
    last = to_objects(take(vocab().surnames, draw_surnames(rng, n)))
    # neighbours: other users live on a patient's street, with their own house number
    est = np.flatnonzero(~pop.new)
    near = np.zeros(n, dtype=np.int64)
    for f in np.unique(user_fac):
        rows = np.flatnonzero(user_fac == f)
        pool = est[pop.home_fac[est] == f]
        pool = pool if len(pool) else est
        near[rows] = pool[rng.integers(0, len(pool), len(rows))]
    city, street = pop.city[near].copy(), pop.street[near].copy()
    line = to_objects(places.address_lines(rng, street))
    zips = pop.zip[near].copy()
    phone = to_objects(phones.allocate(city))
    p = patient[is_pat]
    first[is_pat], last[is_pat] = pop.first[p], pop.last[p]
    city[is_pat], street[is_pat] = pop.city[p], pop.street[p]
    line[is_pat], zips[is_pat], phone[is_pat] = pop.address_line[p], pop.zip[p], pop.phone[p]
    pop.employee[p] = np.flatnonzero(is_pat)
    return People(
        first=first,
        last=last,
        address_line=line,
        city=city,
        street=street,
        zip=zips,
        phone=phone,
        login=_logins(first, last),
        patient=patient,
    )


def workforce_frame(org: Org, people: People) -> Frame:
    """The ``workforce`` table columns."""
    n = org.n_users
    return {
        "user_id": user_ids(np.arange(n)),
        "login": people.login,
        "first_name": people.first,
        "last_name": people.last,
        "role": take([r.value for r in ROLES], org.role),
        "department_id": dept_ids(org.dept),
        "hire_date": date_array(org.hire_day),
        "termination_date": date_array(org.term_day),
        "address_line": people.address_line,
        "city": Places.city_names(people.city),
        "state": Places.states(people.city),
        "zip": people.zip,
        "phone": people.phone,
        "manager_id": user_ids(org.manager),
        "shift_start_hour": org.shift_start,
        "shift_end_hour": org.shift_end,
    }
