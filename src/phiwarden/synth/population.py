"""The patients: households sharing a surname, address and home phone, and their identities.

Established patients come in households (heads, spouses, children); a few percent are new
walk-in patients whose first registration falls in the window (some of them are the
identity thieves injected later). Also here: SSNs fitting each birth date, married
names, VIPs, watch list, the deceased, address history and phone numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.synth.columns import (
    NULL_DAY,
    Frame,
    concat,
    day_number,
    fixed_ids,
    take,
    to_objects,
    where,
)
from phiwarden.synth.ids import ids, patient_ids, user_ids
from phiwarden.synth.names import draw_names, draw_surnames, vocab
from phiwarden.synth.organization import Org
from phiwarden.synth.places import PhoneBook, Places
from phiwarden.synth.spec import SynthSpec
from phiwarden.synth.ssn import SsnAllocator, fmt

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Obj = npt.NDArray[np.object_]

BLOOD_TYPES: tuple[str, ...] = ("O+", "A+", "B+", "AB+", "O-", "A-", "B-", "AB-")
BLOOD_P = (0.37, 0.36, 0.09, 0.03, 0.07, 0.06, 0.02, 0.0)
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
HOUSEHOLD_P = (0.30, 0.30, 0.15, 0.15, 0.07, 0.03)
_AGE_DECADES_P = (0.14, 0.18, 0.17, 0.17, 0.16, 0.11, 0.06, 0.01)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")
HEAD, SPOUSE, CHILD = 0, 1, 2


@dataclass
class Population:
    """Every patient, by position (patient i has id ``P`` + i+1 zero-padded)."""

    household: IntArray
    member: IntArray  # HEAD, SPOUSE or CHILD
    first: Obj
    middle: Obj
    last: Obj
    previous: Obj
    dob: IntArray
    sex: IntArray  # 0 female, 1 male
    ssn: Obj
    city: IntArray
    street: IntArray
    address_line: Obj
    zip: Obj
    phone: Obj
    mobile: Obj
    work_phone: Obj
    email: Obj
    deceased: IntArray
    vip: BoolArray
    watch: BoolArray
    blood: IntArray
    home_fac: IntArray
    new: BoolArray
    mrn: Obj
    since_day: IntArray
    moved: BoolArray
    prev_city: IntArray
    prev_line: Obj
    prev_zip: Obj
    move_day: IntArray
    employee: IntArray

    @property
    def n(self) -> int:
        """Number of patients."""
        return len(self.dob)

    def age_years(self, day: int) -> npt.NDArray[np.float64]:
        """Age in years on a day number."""
        return (day - self.dob) / 365.25

    @property
    def state(self) -> Obj:
        """Two-letter state of each patient's current address."""
        return to_objects(Places.states(self.city))

    @property
    def city_name(self) -> Obj:
        """Town of each patient's current address."""
        return to_objects(Places.city_names(self.city))


def _households(rng: np.random.Generator, n: int) -> tuple[IntArray, IntArray]:
    sizes = rng.choice(HOUSEHOLD_SIZES, size=n, p=HOUSEHOLD_P)
    ends = np.cumsum(sizes)
    h = int(np.searchsorted(ends, n)) + 1
    sizes = sizes[:h].copy()
    sizes[-1] -= int(sizes.sum() - n)
    household = np.repeat(np.arange(h), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return household, np.arange(n) - starts[household]


def _ages(
    rng: np.random.Generator, household: IntArray, pos: IntArray
) -> tuple[IntArray, npt.NDArray[np.float64], IntArray]:
    h = int(household.max()) + 1
    decade = rng.choice(len(_AGE_DECADES_P), size=h, p=_AGE_DECADES_P)
    head_age = 20 + decade * 10 + rng.random(h) * 10
    size = np.bincount(household, minlength=h)
    couple = (size >= 2) & (rng.random(h) < 0.8)
    member = np.where(pos == 0, HEAD, np.where((pos == 1) & couple[household], SPOUSE, CHILD))
    ha = head_age[household]
    age = ha.copy()
    spouse = member == SPOUSE
    age[spouse] = np.maximum(18, ha[spouse] + rng.normal(0, 4, int(spouse.sum())))
    child = member == CHILD
    kid = ha[child] - rng.uniform(20, 38, int(child.sum()))
    young = kid < 0
    kid[young] = rng.uniform(0, 1, int(young.sum())) * np.maximum(ha[child][young] - 18, 1)
    age[child] = kid
    head_sex = (rng.random(h) < 0.5).astype(np.int64)
    sex = np.where(
        member == HEAD, head_sex[household], (rng.random(len(pos)) < 0.5).astype(np.int64)
    )
    sex = np.where(
        spouse,
        np.where(rng.random(len(pos)) < 0.95, 1 - head_sex[household], head_sex[household]),
        sex,
    )
    return member, age, sex


def build_population(
    spec: SynthSpec,
    org: Org,
    places: Places,
    phones: PhoneBook,
    ssns: SsnAllocator,
    rng: np.random.Generator,
    n_new: int,
) -> Population:
    """Households of established patients, then ``n_new`` single walk-in patients."""
    v = vocab()
    start = day_number(spec.start)
    n_est = spec.patients - n_new
    household, pos = _households(rng, n_est)
    member, age, sex = _ages(rng, household, pos)
    h = int(household.max()) + 1
    # walk-ins are one-person households after the established ones
    household = np.concatenate([household, h + np.arange(n_new)])
    member = np.concatenate([member, np.full(n_new, HEAD)])
    age = np.concatenate([age, rng.uniform(18, 75, n_new)])
    sex = np.concatenate([sex, (rng.random(n_new) < 0.5).astype(np.int64)])
    n, hn = spec.patients, h + n_new
    dob = start - (age * 365.25).astype(np.int64) - rng.integers(0, 365, n)
    hh_city = places.draw_cities(rng, hn, org.fac_weight)
    places.fit_streets(rng, hh_city)
    hh_street = places.draw_streets(rng, hh_city)
    hh_line = places.address_lines(rng, hh_street)
    hh_phone = phones.allocate(hh_city)
    hh_surname = draw_surnames(rng, hn)
    city, street = hh_city[household], hh_street[household]
    first = draw_names(rng, sex)
    middle = where(rng.random(n) < 0.7, draw_names(rng, sex), None)
    last = take(v.surnames, hh_surname[household])
    married_woman = (
        (sex == 0) & (member != CHILD) & (np.bincount(household, minlength=hn)[household] >= 2)
    )
    maiden = take(v.surnames, (hh_surname[household] + 1 + draw_surnames(rng, n)) % len(v.surnames))
    previous = where(married_woman & (rng.random(n) < 0.55), concat(maiden, ", ", first), None)
    ssn_num = ssns.for_births(dob)
    adult_born_early = (age >= 30) & (dob < day_number(spec.start) - 36 * 365)
    immigrants = np.flatnonzero(adult_born_early & (rng.random(n) < 0.0015))
    if len(immigrants) == 0 and adult_born_early.any():
        immigrants = np.flatnonzero(adult_born_early)[:1]
    ssn_num[immigrants] = ssns.issued_late(len(immigrants))
    missing_ssn = ((age < 1) & (rng.random(n) < 0.5)) | (rng.random(n) < 0.015)
    missing_ssn[immigrants] = False
    ssn = to_objects(fmt(ssn_num))
    ssn[missing_ssn] = None
    teen = age >= 13
    mobile = to_objects(phones.allocate(city))
    mobile[~(teen & (rng.random(n) < 0.85))] = None
    work = to_objects(phones.allocate(city))
    work[~((age >= 18) & (age < 66) & (rng.random(n) < 0.2))] = None
    email = _emails(rng, first, last, age)
    adult = age >= 18
    established = np.arange(n) < n_est
    deceased = np.full(n, NULL_DAY, dtype=np.int64)
    old = np.flatnonzero(established & (age >= 55))
    dead = rng.choice(old, size=min(len(old), max(3, round(0.01 * n))), replace=False)
    deceased[dead] = start - rng.integers(1, 1000, len(dead))
    alive_adult = np.flatnonzero(established & adult & (deceased == NULL_DAY))
    vip = np.zeros(n, dtype=bool)
    vip[
        rng.choice(alive_adult, size=min(len(alive_adult), max(3, round(0.004 * n))), replace=False)
    ] = True
    watch = np.zeros(n, dtype=bool)
    watch[
        rng.choice(alive_adult, size=min(len(alive_adult), max(2, round(0.003 * n))), replace=False)
    ] = True
    blood = rng.choice(len(BLOOD_TYPES), size=n, p=np.array(BLOOD_P) / sum(BLOOD_P))
    mrn_num = np.zeros(n, dtype=np.int64)
    mrn_num[rng.permutation(n_est)] = 10_000_001 + np.arange(n_est)
    mrn_num[n_est:] = 10_000_001 + n_est + np.arange(n_new)
    moved_hh = rng.random(hn) < 0.15
    moved_hh[h:] = False
    move_hh = start - rng.integers(30, 1800, hn)
    prev_city_hh = np.where(
        rng.random(hn) < 0.5, hh_city, places.draw_cities(rng, hn, org.fac_weight, 0.1)
    )
    prev_street_hh = places.draw_streets(rng, prev_city_hh)
    moved = moved_hh[household] & (dob < move_hh[household])
    since = np.where(
        moved, move_hh[household], np.maximum(dob, start - rng.integers(365, 9000, hn)[household])
    )
    since[n_est:] = start - rng.integers(0, 60, n_new)
    return Population(
        household=household,
        member=member,
        first=to_objects(first),
        middle=to_objects(middle),
        last=to_objects(last),
        previous=to_objects(previous),
        dob=dob,
        sex=sex,
        ssn=ssn,
        city=city,
        street=street,
        address_line=to_objects(hh_line.take(pa.array(household))),
        zip=to_objects(places.zips(city, street)),
        phone=to_objects(hh_phone.take(pa.array(household))),
        mobile=mobile,
        work_phone=work,
        email=email,
        deceased=deceased,
        vip=vip,
        watch=watch,
        blood=blood,
        home_fac=places.city_fac[city],
        new=~established,
        mrn=to_objects(fixed_ids("", mrn_num, 8)),
        since_day=since,
        moved=moved,
        prev_city=prev_city_hh[household],
        prev_line=to_objects(places.address_lines(rng, prev_street_hh).take(pa.array(household))),
        prev_zip=to_objects(places.zips(prev_city_hh, prev_street_hh).take(pa.array(household))),
        move_day=move_hh[household],
        employee=np.full(n, -1, dtype=np.int64),
    )


def _emails(
    rng: np.random.Generator, first: pa.Array, last: pa.Array, age: npt.NDArray[np.float64]
) -> Obj:
    n = len(age)
    number = pa.array(rng.integers(1, 99, n)).cast(pa.string())
    domain = take(EMAIL_DOMAINS, rng.integers(0, len(EMAIL_DOMAINS), n))
    local = pc.utf8_lower(pc.replace_substring(concat(first, ".", last, number), " ", ""))
    out = to_objects(concat(local, "@", domain))
    out[~((age >= 16) & (rng.random(n) < 0.65))] = None
    return out


def patients_frame(pop: Population) -> Frame:
    """The ``patients`` table columns."""
    return {
        "patient_id": patient_ids(np.arange(pop.n)),
        "mrn": pop.mrn,
        "first_name": pop.first,
        "middle_name": pop.middle,
        "last_name": pop.last,
        "previous_names": pop.previous,
        "dob": pop.dob,
        "sex": take(("F", "M"), pop.sex),
        "ssn": pop.ssn,
        "address_line": pop.address_line,
        "city": Places.city_names(pop.city),
        "state": Places.states(pop.city),
        "zip": pop.zip,
        "phone": pop.phone,
        "email": pop.email,
        "deceased_date": pop.deceased,
        "vip": pop.vip,
        "watch_list": pop.watch,
        "employee_user_id": user_ids(pop.employee),
        "blood_type": take(BLOOD_TYPES, pop.blood),
    }


def addresses_frame(pop: Population, rng: np.random.Generator) -> Frame:
    """The ``patient_addresses`` table: current addresses, and earlier ones of those who moved."""
    moved = np.flatnonzero(pop.moved)
    prev_from = np.maximum(
        pop.dob[moved], pop.move_day[moved] - rng.integers(365, 4000, len(moved))
    )
    patient = np.concatenate([np.arange(pop.n), moved])
    valid_from = np.concatenate([pop.since_day, prev_from])
    valid_to = np.concatenate([np.full(pop.n, NULL_DAY), pop.move_day[moved]])
    city = np.concatenate([pop.city, pop.prev_city[moved]])
    line = np.concatenate([pop.address_line, pop.prev_line[moved]])
    zips = np.concatenate([pop.zip, pop.prev_zip[moved]])
    order = np.lexsort((valid_from, patient))
    return {
        "address_id": ids("AD", np.arange(len(order))),
        "patient_id": patient_ids(patient[order]),
        "address_line": line[order],
        "city": Places.city_names(city[order]),
        "state": Places.states(city[order]),
        "zip": zips[order],
        "valid_from": valid_from[order],
        "valid_to": valid_to[order],
    }


def phones_frame(pop: Population) -> Frame:
    """The ``patient_phones`` table: home phone of everyone, mobile and work where known."""
    kinds = ("home", "mobile", "work")
    cols = (pop.phone, pop.mobile, pop.work_phone)
    patient = np.concatenate([np.flatnonzero(c.astype(bool)) for c in cols])
    kind = np.concatenate([np.full(int(c.astype(bool).sum()), k) for k, c in enumerate(cols)])
    number = np.concatenate([c[c.astype(bool)] for c in cols])
    order = np.lexsort((kind, patient))
    return {
        "phone_id": ids("PH", np.arange(len(order))),
        "patient_id": patient_ids(patient[order]),
        "phone": number[order],
        "kind": take(kinds, kind[order]),
    }
