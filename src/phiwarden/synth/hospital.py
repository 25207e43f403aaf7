"""Build a whole synthetic hospital in memory, stage by stage, with its ground truth.

Stages run in dependency order, each with its own random stream spawned from the seed,
so a hospital is a pure function of its spec. The result holds every canonical table
as a frame of columns and the access events as arrays, ready to be written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from phiwarden.synth.access import legitimate_events, workflow_items
from phiwarden.synth.billing import (
    Billing,
    accounts_frame,
    build_billing,
    complaints_frame,
    transactions_frame,
)
from phiwarden.synth.clinical import (
    Clinical,
    build_clinical,
    orders_frame,
    prescriptions_frame,
    results_frame,
)
from phiwarden.synth.columns import Frame
from phiwarden.synth.contacts import build_contacts
from phiwarden.synth.coverage import Coverages, build_coverages, coverage_frame
from phiwarden.synth.encounters import (
    Encounters,
    build_encounters,
    care_team_frame,
    encounter_frame,
)
from phiwarden.synth.events import Events
from phiwarden.synth.identity_theft import apply_thefts, plan_thefts, presentations
from phiwarden.synth.ids import dept_ids, facility_ids
from phiwarden.synth.merges import Merges, build_merges, merges_frame
from phiwarden.synth.names import vocab
from phiwarden.synth.organization import FACILITIES, KINDS, Org, build_org
from phiwarden.synth.places import PhoneBook, Places
from phiwarden.synth.population import (
    Population,
    addresses_frame,
    build_population,
    patients_frame,
    phones_frame,
)
from phiwarden.synth.registration import Registrations, build_registrations
from phiwarden.synth.scheduling import Schedule, appointments_frame, build_schedule, calls_frame
from phiwarden.synth.snooping import inject_snooping
from phiwarden.synth.spec import SynthSpec
from phiwarden.synth.ssn import SsnAllocator
from phiwarden.synth.staff import Staffing
from phiwarden.synth.timeline import Window
from phiwarden.synth.workforce import People, build_people, workforce_frame

Progress = Callable[[str, int, int], None]
STAGES = (
    "organisation",
    "patients",
    "encounters",
    "orders and prescriptions",
    "schedules and calls",
    "registrations and billing",
    "workflow accesses",
    "snooping",
)


@dataclass
class Hospital:
    """Every canonical table as a frame, the access events, and the ground truth."""

    spec: SynthSpec
    window: Window
    org: Org
    pop: Population
    tables: dict[str, Frame]
    events: Events
    snooping: list[dict[str, Any]]
    identity_theft: list[dict[str, Any]]


def new_patient_count(spec: SynthSpec) -> int:
    """Walk-in patients first seen in the window: 1% of patients, and every new-patient thief."""
    return max(6 * spec.thefts_per_scenario + 3, round(0.01 * spec.patients))


def _org_frames(org: Org) -> dict[str, Frame]:
    towns = vocab().cities
    n_fac = len(org.fac_name)
    return {
        "facilities": {
            "facility_id": facility_ids(np.arange(n_fac)),
            "name": np.array(org.fac_name, dtype=object),
            "city": np.array([towns[c].name for c in org.fac_city], dtype=object),
            "state": np.array([FACILITIES[f][2] for f in range(n_fac)], dtype=object),
        },
        "departments": {
            "department_id": dept_ids(np.arange(len(org.dept_name))),
            "name": np.array(org.dept_name, dtype=object),
            "kind": np.array([KINDS[k].value for k in org.dept_kind], dtype=object),
            "facility_id": facility_ids(org.dept_fac),
        },
    }


def build_hospital(spec: SynthSpec, progress: Progress | None = None) -> Hospital:
    """Generate every table and event of a hospital (nothing is written)."""

    def step(i: int) -> None:
        """Report stage ``i - 1`` done and stage ``i`` started (each stage counts 0..1)."""
        if progress is None:
            return
        if i > 0:
            progress(STAGES[i - 1], 1, 1)
        if i < len(STAGES):
            progress(STAGES[i], 0, 1)

    rng = np.random.default_rng(spec.seed).spawn(16)
    window = Window.of(spec)
    step(0)
    org = build_org(spec, rng[0])
    places = Places(org.fac_city)
    phones = PhoneBook(rng[1])
    ssns = SsnAllocator(rng[2])
    step(1)
    pop = build_population(spec, org, places, phones, ssns, rng[3], new_patient_count(spec))
    people = build_people(spec, org, pop, places, phones, rng[4])
    plan = plan_thefts(spec, window, pop, places, phones, ssns, rng[5])
    cov = build_coverages(spec, pop, rng[6], uninsured=plan.thief)
    contacts = build_contacts(spec, pop, people, cov, places, phones, rng[7], skip=plan.thief)
    staff = Staffing(org, window)
    step(2)
    enc = build_encounters(window, org, pop, staff, plan.forced, rng[8])
    step(3)
    clin = build_clinical(window, org, pop, enc, plan.forced, staff, rng[9])
    step(4)
    sched = build_schedule(window, org, pop, enc, clin, staff, phones, rng[10])
    step(5)
    overrides, borrowed = presentations(plan, window, pop, cov, enc, rng[5])
    reg = build_registrations(window, org, pop, cov, enc, staff, overrides, borrowed, rng[11])
    bill = build_billing(window, pop, cov, enc, plan.forced, reg, contacts.guarantor, rng[12])
    theft_truth = apply_thefts(plan, window, enc, reg, bill, rng[5])
    step(6)
    merges = build_merges(window, org, pop, staff, rng[13])
    items = workflow_items(window, org, enc, clin, sched, reg, merges, staff, rng[13])
    legit, cover = legitimate_events(items, window, org, pop, staff, rng[14])
    step(7)
    link_user, link_patient = items.links()
    with_pcp = np.flatnonzero(enc.pcp >= 0)
    links = (  # every tie a record makes, including PCP panels and booked providers
        np.concatenate(
            [link_user, cover.user, enc.pcp[with_pcp], sched.ap_provider, enc.attending]
        ),
        np.concatenate([link_patient, cover.patient, with_pcp, sched.ap_patient, enc.patient]),
    )
    snoop, snoop_truth = inject_snooping(
        spec, window, org, people, pop, enc, clin, staff, links, rng[15]
    )
    step(8)
    tables = _tables(
        org,
        people,
        pop,
        cov,
        contacts.frame,
        enc,
        clin,
        sched,
        reg,
        bill,
        merges,
        plan.fraud_watch,
        rng[3],
    )
    return Hospital(
        spec=spec,
        window=window,
        org=org,
        pop=pop,
        tables=tables,
        events=Events.concat([legit, cover, snoop]),
        snooping=snoop_truth,
        identity_theft=theft_truth,
    )


def _tables(
    org: Org,
    people: People,
    pop: Population,
    cov: Coverages,
    contacts: Frame,
    enc: Encounters,
    clin: Clinical,
    sched: Schedule,
    reg: Registrations,
    bill: Billing,
    merges: Merges,
    fraud: Frame,
    rng: np.random.Generator,
) -> dict[str, Frame]:
    tables = _org_frames(org)
    tables.update(
        {
            "workforce": workforce_frame(org, people),
            "patients": patients_frame(pop),
            "patient_merges": merges_frame(merges, pop),
            "patient_addresses": addresses_frame(pop, rng),
            "patient_phones": phones_frame(pop),
            "patient_contacts": contacts,
            "coverages": coverage_frame(cov, pop),
            "encounters": encounter_frame(enc),
            "care_team": care_team_frame(enc),
            "orders": orders_frame(clin),
            "prescriptions": prescriptions_frame(clin),
            "lab_results": results_frame(clin),
            "appointments": appointments_frame(sched),
            "calls": calls_frame(sched),
            "registrations": reg.frame,
            "billing_accounts": accounts_frame(bill),
            "transactions": transactions_frame(bill),
            "complaints": complaints_frame(bill),
            "eligibility_responses": reg.elig,
            "fraud_watch": fraud,
        }
    )
    return tables
