"""Injected medical identity theft, with its ground truth, and the fraud watch list.

Six scenarios are thieves registering as new patients: with someone else's SSN under
their own name and birth date, an SSN never issued, an SSN issued after 2011 though born
long before, a known fraud address or phone, or someone else's insurance member id.
Three happen on the victim's own chart: an ABO/Rh result that contradicts the victim's
blood type, an account whose statements come back while charges continue, and the
victim's complaint about a bill for care never received. Each theft is one
registration; the plan is made before the encounters, applied after billing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from phiwarden.domain.enums import IdentityTheftScenario as S
from phiwarden.synth.billing import CHARGE, COMPLAINT_KINDS, Billing
from phiwarden.synth.columns import DAY, HOUR, NULL_DAY, Frame, cell, day_number, to_objects
from phiwarden.synth.coverage import Coverages
from phiwarden.synth.encounters import ED, OP, Encounters, Forced
from phiwarden.synth.ids import ids
from phiwarden.synth.names import vocab
from phiwarden.synth.places import PhoneBook, Places
from phiwarden.synth.population import BLOOD_TYPES, Population
from phiwarden.synth.registration import Registrations
from phiwarden.synth.spec import SynthSpec
from phiwarden.synth.ssn import SsnAllocator, fmt, never_issued
from phiwarden.synth.timeline import Window

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NEW_PATIENT_SCENARIOS = (
    S.SHARED_SSN,
    S.SSN_NEVER_ISSUED,
    S.SSN_DOB_MISMATCH,
    S.FRAUD_ADDRESS,
    S.FRAUD_PHONE,
    S.INSURANCE_MISMATCH,
)
VICTIM_CHART_SCENARIOS = (S.BLOOD_TYPE_CONFLICT, S.RETURNED_MAIL, S.COMPLAINT)
FRAUD_STREETS = (
    "Commerce Dr Ste",
    "Industrial Pkwy Unit",
    "Business Park Dr Ste",
    "Enterprise Way Ste",
)
FRAUD_REASONS = (
    "mail drop used in a prior identity theft case",
    "address of prior fraudulent registrations",
    "phone number reported by law enforcement",
    "phone used by a known fraud ring",
)


@dataclass
class Theft:
    """One injected theft: its scenario, the chart it lands on, and its forced encounters."""

    scenario: S
    patient: int
    victim: int
    forced_rows: list[int] = field(default_factory=list)


@dataclass
class TheftPlan:
    """All thefts, the forced encounters of walk-ins and thefts, and the fraud watch list."""

    thefts: list[Theft]
    forced: Forced
    thief: BoolArray
    fraud_watch: Frame
    new_address: dict[int, tuple[str, int, str]]


def _fraud_watch(
    window: Window, places: Places, phones: PhoneBook, k: int, rng: np.random.Generator
) -> tuple[Frame, list[tuple[str, int, str]], list[str]]:
    towns = vocab().cities
    n = k + 3
    city = np.array(
        [places.facility_cities[i % len(places.facility_cities)] for i in range(n)], dtype=np.int64
    )
    addresses: list[tuple[str, int, str]] = []
    for i, c in enumerate(city):
        if i % 2:
            line = f"PO Box {int(rng.integers(100, 9999))}"
        else:
            line = (
                f"{int(rng.integers(100, 9999))} {FRAUD_STREETS[i % 4]} {int(rng.integers(1, 400))}"
            )
        addresses.append((line, int(c), towns[int(c)].zips[0]))
    phone_list = [str(p) for p in to_objects(phones.allocate(city))]
    values = [f"{a}, {towns[c].name}, {towns[c].state} {z}" for a, c, z in addresses] + phone_list
    kinds = ["address"] * n + ["phone"] * n
    reasons = [FRAUD_REASONS[i % 2] for i in range(n)] + [
        FRAUD_REASONS[2 + i % 2] for i in range(n)
    ]
    frame: Frame = {
        "watch_id": ids("FW", np.arange(2 * n), 4),
        "kind": np.array(kinds, dtype=object),
        "value": np.array(values, dtype=object),
        "reason": np.array(reasons, dtype=object),
        "added_at": window.start
        - rng.integers(30, 700, 2 * n) * DAY
        - rng.integers(0, 24, 2 * n) * HOUR,
    }
    return frame, addresses, phone_list


def plan_thefts(
    spec: SynthSpec,
    window: Window,
    pop: Population,
    places: Places,
    phones: PhoneBook,
    ssns: SsnAllocator,
    rng: np.random.Generator,
) -> TheftPlan:
    """Choose thieves and victims, alter the thieves' records, and request their encounters."""
    k = spec.thefts_per_scenario
    frame, addresses, fraud_phones = _fraud_watch(window, places, phones, k, rng)
    walk_ins = np.flatnonzero(pop.new)
    age = pop.age_years(window.start_day)
    victims = rng.permutation(
        np.flatnonzero(
            ~pop.new
            & (pop.deceased == NULL_DAY)
            & (pop.employee < 0)
            & ~pop.vip
            & ~pop.watch
            & (age >= 25)
            & (age < 75)
            & pop.ssn.astype(bool)
        )
    )
    thief = np.zeros(pop.n, dtype=bool)
    f_pat: list[int] = []
    f_type: list[int] = []
    f_day: list[int] = []
    f_abo: list[int] = []
    f_group: list[int] = []

    def request(patient: int, etype: int, day: int, abo: int = -1, group: int = -1) -> int:
        f_pat.append(patient)
        f_type.append(etype)
        f_day.append(day)
        f_abo.append(abo)
        f_group.append(group)
        return len(f_pat) - 1

    thefts: list[Theft] = []
    slot, vi = 0, 0
    in_window = window.start_day + rng.integers(0, max(1, window.days - 1), 9 * k)
    for i, scenario in enumerate(s for s in NEW_PATIENT_SCENARIOS for _ in range(k)):
        t = int(walk_ins[slot])
        slot += 1
        thief[t] = True
        theft = Theft(scenario, t, -1)
        if scenario == S.SHARED_SSN:
            v = int(victims[vi])
            vi += 1
            pop.ssn[t] = pop.ssn[v]
            if pop.last[t] == pop.last[v]:
                pop.last[t] = f"{pop.last[t]}-{pop.last[int(victims[-1])]}"
            theft.victim = v
        elif scenario == S.SSN_NEVER_ISSUED:
            pop.ssn[t] = never_issued(rng, 1)[0]
        elif scenario == S.SSN_DOB_MISMATCH:
            pop.dob[t] = day_number(
                date(
                    int(rng.integers(1940, 1976)),
                    int(rng.integers(1, 13)),
                    int(rng.integers(1, 29)),
                )
            )
            pop.ssn[t] = str(fmt(ssns.issued_late(1))[0])
        elif scenario == S.FRAUD_ADDRESS:
            line, c, z = addresses[i % len(addresses)]
            pop.address_line[t], pop.city[t], pop.zip[t] = line, c, z
        elif scenario == S.FRAUD_PHONE:
            pop.phone[t], pop.mobile[t] = fraud_phones[i % len(fraud_phones)], None
        theft.forced_rows.append(request(t, ED if rng.random() < 0.6 else OP, int(in_window[i])))
        thefts.append(theft)
    new_address: dict[int, tuple[str, int, str]] = {}
    for j, scenario in enumerate(s for s in VICTIM_CHART_SCENARIOS for _ in range(k)):
        v = int(victims[vi])
        vi += 1
        theft = Theft(scenario, v, v)
        if scenario == S.BLOOD_TYPE_CONFLICT:
            other = [b for b in range(len(BLOOD_TYPES)) if b % 4 != pop.blood[v] % 4]
            abo = int(rng.choice(other))
            theft.forced_rows.append(
                request(
                    v, ED, int(in_window[6 * k + j]) if window.days > 2 else window.start_day, abo
                )
            )
        elif scenario == S.RETURNED_MAIL:
            group = len(thefts)
            theft.forced_rows.append(
                request(v, ED, window.start_day - int(rng.integers(10, 14)), group=group)
            )
            last = max(1, window.days - 6)
            for _ in range(int(rng.integers(1, 3))):
                day = window.start_day + int(rng.integers(min(window.days // 2, last), last + 1))
                theft.forced_rows.append(request(v, ED, day, group=group))
            other_city = int(
                places.facility_cities[(len(thefts) + 1) % len(places.facility_cities)]
            )
            street = places.draw_streets(rng, np.array([other_city]))
            line = str(places.address_lines(rng, street, 0.9)[0])
            new_address[len(thefts)] = (
                line,
                other_city,
                str(places.zips(np.array([other_city]), street)[0]),
            )
        else:
            theft.forced_rows.append(request(v, ED, window.start_day - int(rng.integers(6, 13))))
        thefts.append(theft)
    for t in walk_ins[slot:]:
        request(
            int(t),
            ED if rng.random() < 0.5 else OP,
            window.start_day + int(rng.integers(0, window.days)),
        )
    forced = Forced(
        patient=np.array(f_pat, np.int64),
        etype=np.array(f_type, np.int64),
        day=np.array(f_day, np.int64),
        abo=np.array(f_abo, np.int64),
        account_group=np.array(f_group, np.int64),
    )
    return TheftPlan(
        thefts=thefts, forced=forced, thief=thief, fraud_watch=frame, new_address=new_address
    )


def encounter_of_forced(enc: Encounters, n_forced: int) -> IntArray:
    """Encounter row of each forced encounter request."""
    out = np.full(n_forced, -1, dtype=np.int64)
    rows = np.flatnonzero(enc.forced >= 0)
    out[enc.forced[rows]] = rows
    return out


def presentations(
    plan: TheftPlan,
    window: Window,
    pop: Population,
    cov: Coverages,
    enc: Encounters,
    rng: np.random.Generator,
) -> tuple[dict[int, dict[str, Any]], dict[int, int]]:
    """What each theft registration presents, keyed by encounter row; and borrowed coverages."""
    where = encounter_of_forced(enc, len(plan.forced.patient))
    overrides: dict[int, dict[str, Any]] = {}
    borrowed: dict[int, int] = {}
    for walk_in in np.flatnonzero(pop.new[plan.forced.patient]):
        overrides[int(where[walk_in])] = {"photo_on_file": False}
    age = pop.age_years(window.start_day)
    subscribers = np.flatnonzero(
        (cov.relationship == 0)
        & (cov.payer < 5)
        & (age[cov.patient] < 65)
        & (pop.employee[cov.patient] < 0)
        & ~pop.new[cov.patient]
    )
    subscribers = rng.permutation(subscribers)
    used = 0
    for i, theft in enumerate(plan.thefts):
        p = theft.patient
        for f in theft.forced_rows:
            e = int(where[f])
            values = overrides.setdefault(e, {})
            values.update(
                {
                    "presented_first_name": pop.first[p],
                    "presented_last_name": pop.last[p],
                    "presented_dob": pop.dob[p],
                    "presented_ssn": pop.ssn[p],
                    "presented_phone": pop.phone[p],
                    "presented_address_line": pop.address_line[p],
                    "presented_zip": pop.zip[p],
                    "presented_city": str(Places.city_names(np.array([pop.city[p]]))[0]),
                    "presented_state": str(Places.states(np.array([pop.city[p]]))[0]),
                    "id_checked": bool(rng.random() < 0.4),
                }
            )
            if i in plan.new_address:
                line, c, z = plan.new_address[i]
                values.update(
                    {
                        "presented_address_line": line,
                        "presented_zip": z,
                        "presented_city": str(Places.city_names(np.array([c]))[0]),
                        "presented_state": str(Places.states(np.array([c]))[0]),
                    }
                )
            if theft.scenario == S.INSURANCE_MISMATCH:
                c = int(subscribers[used])
                used += 1
                theft.victim = int(cov.patient[c])
                borrowed[e] = c
    return overrides, borrowed


def apply_thefts(
    plan: TheftPlan,
    window: Window,
    enc: Encounters,
    reg: Registrations,
    bill: Billing,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Finish the account-level thefts and eligibility variants; return the ground truth."""
    where = encounter_of_forced(enc, len(plan.forced.patient))
    truth: list[dict[str, Any]] = []
    mismatch = 0
    for theft in plan.thefts:
        e = int(where[theft.forced_rows[0]])
        if theft.scenario == S.INSURANCE_MISMATCH:
            _eligibility_variant(reg, e, mismatch)
            mismatch += 1
        elif theft.scenario == S.RETURNED_MAIL:
            _returned_mail(bill, window, [int(where[f]) for f in theft.forced_rows], enc, rng)
        elif theft.scenario == S.COMPLAINT:
            _complaint(bill, window, enc, e, reg.at[e], rng)
        truth.append(
            {
                "registration_id": str(cell(reg.frame, "registration_id", e)),
                "mrn": str(cell(reg.frame, "mrn", e)),
                "scenario": theft.scenario.value,
            }
        )
    return truth


def _eligibility_variant(reg: Registrations, e: int, k: int) -> None:
    rows = np.flatnonzero(reg.elig_reg == e)
    if len(rows) == 0:
        return
    r = int(rows[0])
    if k % 3 == 1:
        reg.elig["ins_changed"][r] = True
    elif k % 3 == 2:
        reg.elig["aaa_code"][r] = "75"
        for col in ("first_name", "last_name", "dob"):
            reg.elig[col][r] = reg.frame[f"presented_{col}"][e]


def _returned_mail(
    bill: Billing, window: Window, rows: list[int], enc: Encounters, rng: np.random.Generator
) -> None:
    acct = int(bill.enc_account[rows[0]])
    times = np.sort(bill.tx_at[bill.tx_account == acct])
    first = int(times[0]) if len(times) else int(enc.start[rows[0]])
    returned: int = first + int(rng.integers(5, 9)) * DAY
    if not (times > returned).any():
        last = rows[-1]
        when = min(int(enc.start[last]) + 2 * HOUR, window.end - HOUR)
        returned = min(returned, when - DAY)
        bill.tx_account = np.append(bill.tx_account, acct)
        bill.tx_enc = np.append(bill.tx_enc, last)
        bill.tx_at = np.append(bill.tx_at, when)
        bill.tx_kind = np.append(bill.tx_kind, CHARGE)
        bill.tx_amount = np.append(bill.tx_amount, round(float(rng.uniform(900, 2500)), 2))
        bill.tx_code = np.append(bill.tx_code, -1)
        bill.tx_payer = np.append(bill.tx_payer, -1)
    bill.acct_returned[acct] = int(rng.integers(2, 4))
    bill.acct_returned_at[acct] = returned


def _complaint(
    bill: Billing,
    window: Window,
    enc: Encounters,
    e: int,
    registered: int,
    rng: np.random.Generator,
) -> None:
    charges = bill.tx_at[(bill.tx_enc == e) & (bill.tx_kind == CHARGE)]
    base = int(charges.min()) if len(charges) else int(registered) + 2 * DAY
    at = min(base + int(rng.integers(3, 11)) * DAY, window.end - 2 * HOUR)
    at = max(at, base + HOUR)
    day = date.fromordinal(date(1970, 1, 1).toordinal() + int(enc.start[e] // DAY))
    kind = int(rng.integers(0, 2))
    text = (
        f"Received {'an explanation of benefits' if kind else 'a bill'} for an emergency visit on "
        f"{day.isoformat()}; says they were never treated at the hospital that day"
    )
    bill.cp_patient = np.append(bill.cp_patient, enc.patient[e])
    bill.cp_account = np.append(bill.cp_account, bill.enc_account[e])
    bill.cp_kind = np.append(bill.cp_kind, COMPLAINT_KINDS.index("eob" if kind else "bill"))
    bill.cp_at = np.append(bill.cp_at, at)
    bill.cp_text = np.append(bill.cp_text, np.array([text], dtype=object))
