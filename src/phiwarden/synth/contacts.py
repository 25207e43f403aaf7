"""Patients' related people: next of kin, emergency contacts, guarantors and subscribers.

Mostly family members from the same household (same name, address and home phone as
that person's own patient record). Some workforce members are the emergency contact of
a patient outside their household, written with the user's own name, address and phone:
a relationship the access monitor must recognise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from phiwarden.domain.enums import ContactKind
from phiwarden.synth.columns import NULL_DAY, Frame, day_number, take, to_objects
from phiwarden.synth.coverage import Coverages
from phiwarden.synth.ids import contact_ids, patient_ids
from phiwarden.synth.names import draw_names, draw_surnames, vocab
from phiwarden.synth.places import PhoneBook, Places
from phiwarden.synth.population import CHILD, HEAD, SPOUSE, Population
from phiwarden.synth.spec import SynthSpec
from phiwarden.synth.workforce import People

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Obj = npt.NDArray[np.object_]

KINDS: tuple[str, ...] = tuple(k.value for k in ContactKind)
NOK, EMERGENCY, GUARANTOR, SUBSCRIBER = (
    KINDS.index(k.value)
    for k in (
        ContactKind.NEXT_OF_KIN,
        ContactKind.EMERGENCY,
        ContactKind.GUARANTOR,
        ContactKind.SUBSCRIBER,
    )
)
RELATIONSHIPS = ("spouse", "parent", "child", "sibling", "friend", "other")
SPOUSE_R, PARENT_R, CHILD_R, SIBLING_R, FRIEND_R, OTHER_R = range(6)
WORKFORCE_CONTACT_SHARE = 0.15


@dataclass
class Contacts:
    """Contact rows as a frame, and each patient's guarantor contact row (-1 if self)."""

    frame: Frame
    guarantor: IntArray


def _relatives(pop: Population, age: npt.NDArray[np.float64]) -> tuple[IntArray, IntArray]:
    """The closest household relative of each patient and how they are related."""
    hh = pop.household
    n_hh = int(hh.max()) + 1
    head_of = np.full(n_hh, -1, dtype=np.int64)
    head_of[hh[pop.member == HEAD]] = np.flatnonzero(pop.member == HEAD)
    spouse_of = np.full(n_hh, -1, dtype=np.int64)
    spouse_of[hh[pop.member == SPOUSE]] = np.flatnonzero(pop.member == SPOUSE)
    adult_child = np.full(n_hh, -1, dtype=np.int64)
    kids = np.flatnonzero((pop.member == CHILD) & (age >= 18))
    adult_child[hh[kids]] = kids
    rel = np.full(pop.n, -1, dtype=np.int64)
    how = np.full(pop.n, OTHER_R, dtype=np.int64)
    head = pop.member == HEAD
    rel[head] = np.where(spouse_of[hh[head]] >= 0, spouse_of[hh[head]], adult_child[hh[head]])
    how[head] = np.where(spouse_of[hh[head]] >= 0, SPOUSE_R, CHILD_R)
    sp = pop.member == SPOUSE
    rel[sp], how[sp] = head_of[hh[sp]], SPOUSE_R
    ch = pop.member == CHILD
    rel[ch], how[ch] = head_of[hh[ch]], PARENT_R
    return rel, how


def build_contacts(
    spec: SynthSpec,
    pop: Population,
    people: People,
    cov: Coverages,
    places: Places,
    phones: PhoneBook,
    rng: np.random.Generator,
    skip: BoolArray,
) -> Contacts:
    """Contacts for every patient except ``skip`` (walk-in thieves give none)."""
    age = pop.age_years(day_number(spec.start))
    rel, how = _relatives(pop, age)
    everyone = np.flatnonzero(~skip)
    # external emergency contacts for people without a household relative
    lonely = everyone[rel[everyone] < 0]
    ext_sex = (rng.random(len(lonely)) < 0.5).astype(np.int64)
    ext_first = to_objects(draw_names(rng, ext_sex))
    same_name = rng.random(len(lonely)) < 0.4
    ext_last = np.where(
        same_name,
        pop.last[lonely],
        to_objects(take(vocab().surnames, draw_surnames(rng, len(lonely)))),
    )
    elsewhere = pop.city[rng.integers(0, pop.n, len(lonely))]
    ext_city = np.where(rng.random(len(lonely)) < 0.5, pop.city[lonely], elsewhere)
    ext_street = places.draw_streets(rng, ext_city)
    ext_line = to_objects(places.address_lines(rng, ext_street))
    ext_zip = to_objects(places.zips(ext_city, ext_street))
    ext_phone = to_objects(phones.allocate(ext_city))
    ext_how = np.where(
        same_name, SIBLING_R, np.where(rng.random(len(lonely)) < 0.7, FRIEND_R, OTHER_R)
    )
    # some workforce members are the emergency contact of an older patient they live apart from
    free_users = np.flatnonzero(people.patient < 0)
    helpers = free_users[rng.random(len(free_users)) < WORKFORCE_CONTACT_SHARE]
    older = np.flatnonzero((age[lonely] >= 55) & (pop.deceased[lonely] == NULL_DAY))
    k = min(len(helpers), len(older))
    slots = rng.choice(older, size=k, replace=False)
    ext_how[slots] = np.where(rng.random(k) < 0.5, CHILD_R, FRIEND_R)
    u = helpers[:k]
    ext_first[slots], ext_last[slots], ext_line[slots] = (
        people.first[u],
        people.last[u],
        people.address_line[u],
    )
    ext_city[slots], ext_zip[slots], ext_phone[slots] = (
        people.city[u],
        people.zip[u],
        people.phone[u],
    )
    # rows: (patient, kind, source patient or -1, external row or -1, relationship)
    has_rel = everyone[rel[everyone] >= 0]
    minors = everyone[(age[everyone] < 18) & (rel[everyone] >= 0)]
    nok = has_rel[(rng.random(len(has_rel)) < 0.7) | (age[has_rel] < 18)]
    sub_rows = cov.primary[everyone]
    dependants = everyone[(sub_rows >= 0) & (cov.relationship[np.maximum(sub_rows, 0)] != 0)]
    sub_src = cov.subscriber[cov.primary[dependants]]
    sub_how = np.where(pop.member[dependants] == CHILD, PARENT_R, SPOUSE_R)
    parts = [
        (has_rel, EMERGENCY, rel[has_rel], -1, how[has_rel]),
        (lonely, EMERGENCY, -1, np.arange(len(lonely)), ext_how),
        (nok, NOK, rel[nok], -1, how[nok]),
        (minors, GUARANTOR, rel[minors], -1, how[minors]),
        (dependants, SUBSCRIBER, sub_src, -1, sub_how),
    ]
    patient = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
    src = np.concatenate([np.broadcast_to(np.asarray(p[2]), len(p[0])) for p in parts]).astype(
        np.int64
    )
    ext = np.concatenate([np.broadcast_to(np.asarray(p[3]), len(p[0])) for p in parts]).astype(
        np.int64
    )
    relation = np.concatenate([np.broadcast_to(np.asarray(p[4]), len(p[0])) for p in parts]).astype(
        np.int64
    )
    order = np.lexsort((kind, patient))
    patient, kind, src, ext, relation = (
        patient[order],
        kind[order],
        src[order],
        ext[order],
        relation[order],
    )
    n = len(patient)
    fam, out = src >= 0, ext >= 0
    cols: dict[str, Obj] = {}
    for name, fam_col, ext_col in (
        ("first_name", pop.first, ext_first),
        ("last_name", pop.last, ext_last),
        ("address_line", pop.address_line, ext_line),
        ("zip", pop.zip, ext_zip),
        ("phone", pop.phone, ext_phone),
    ):
        col = np.empty(n, dtype=object)
        col[fam] = fam_col[src[fam]]
        col[out] = ext_col[ext[out]]
        cols[name] = col
    city = np.zeros(n, dtype=np.int64)
    city[fam], city[out] = pop.city[src[fam]], ext_city[ext[out]]
    guarantor = np.full(pop.n, -1, dtype=np.int64)
    g = np.flatnonzero(kind == GUARANTOR)
    guarantor[patient[g]] = g
    frame: Frame = {
        "contact_id": contact_ids(np.arange(n)),
        "patient_id": patient_ids(patient),
        "kind": take(KINDS, kind),
        "relationship": take(RELATIONSHIPS, relation),
        "city": Places.city_names(city),
        "state": Places.states(city),
        **cols,
    }
    return Contacts(frame=frame, guarantor=guarantor)
