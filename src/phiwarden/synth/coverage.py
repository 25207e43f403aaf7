"""Insurance coverages: Medicare at 65, Medicaid, and commercial family plans.

A commercial plan covers the subscriber's spouse and children under 26 under the
subscriber's member number with a person suffix, so the subscriber of a child's coverage
is a parent: the identity an eligibility response returns for that member.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from phiwarden.synth.columns import Frame, concat, day_number, fixed_ids, take, to_objects
from phiwarden.synth.ids import coverage_ids, patient_ids
from phiwarden.synth.population import CHILD, HEAD, SPOUSE, Population
from phiwarden.synth.spec import SynthSpec

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Obj = npt.NDArray[np.object_]

COMMERCIAL: tuple[tuple[str, str], ...] = (
    ("Blue Cross Blue Shield", "XEB"),
    ("UnitedHealthcare", "UHC"),
    ("Aetna", "AET"),
    ("Cigna", "CIG"),
    ("Humana", "HUM"),
)
MEDICARE, MEDICAID = "Medicare", "Medicaid"
PAYERS: tuple[str, ...] = (*(c[0] for c in COMMERCIAL), MEDICARE, MEDICAID)
MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"
RELATIONSHIPS = ("self", "spouse", "child")


@dataclass
class Coverages:
    """Coverage rows and each patient's primary coverage."""

    patient: IntArray
    payer: IntArray  # index into PAYERS
    member_id: Obj
    subscriber: IntArray  # patient position of the subscriber
    relationship: IntArray  # index into RELATIONSHIPS
    primary: IntArray  # per patient: row of the primary coverage, -1 if uninsured

    @property
    def n(self) -> int:
        """Number of coverage rows."""
        return len(self.patient)


def _mbi(rng: np.random.Generator, n: int) -> Obj:
    """Medicare beneficiary identifiers (11 characters, CMS pattern)."""
    letters = np.frombuffer(MBI_LETTERS.encode(), dtype=np.uint8)
    alnum = np.concatenate([np.frombuffer(b"0123456789", dtype=np.uint8), letters])
    digit = np.frombuffer(b"0123456789", dtype=np.uint8)
    pattern = "NLANLANLLNN"
    buf = np.empty((n, 11), dtype=np.uint8)
    for k, kind in enumerate(pattern):
        pool = {"N": digit, "L": letters, "A": alnum}[kind]
        buf[:, k] = pool[rng.integers(1 if k == 0 else 0, len(pool), n)]
    return np.array([bytes(row).decode() for row in buf], dtype=object)


def build_coverages(
    spec: SynthSpec, pop: Population, rng: np.random.Generator, uninsured: BoolArray
) -> Coverages:
    """Coverages for everyone but the ``uninsured`` (thieves register as self-pay)."""
    start = day_number(spec.start)
    age = pop.age_years(start)
    hh = pop.household
    n_hh = int(hh.max()) + 1
    plan = rng.choice(3, size=n_hh, p=(0.75, 0.15, 0.10))  # commercial, medicaid, none
    payer_hh = rng.integers(0, len(COMMERCIAL), n_hh)
    head_of = np.zeros(n_hh, dtype=np.int64)
    head_of[hh[pop.member == HEAD]] = np.flatnonzero(pop.member == HEAD)
    spouse_of = np.full(n_hh, -1, dtype=np.int64)
    spouse_of[hh[pop.member == SPOUSE]] = np.flatnonzero(pop.member == SPOUSE)
    sub_hh = np.where((spouse_of >= 0) & (rng.random(n_hh) < 0.3), spouse_of, head_of)
    rows_p: list[IntArray] = []
    rows_payer: list[IntArray] = []
    rows_member: list[Obj] = []
    rows_sub: list[IntArray] = []
    rows_rel: list[IntArray] = []
    alive = np.ones(pop.n, dtype=bool) & ~uninsured
    senior = alive & (age >= 65)
    p = np.flatnonzero(senior)
    rows_p.append(p)
    rows_payer.append(np.full(len(p), PAYERS.index(MEDICARE)))
    rows_member.append(_mbi(rng, len(p)))
    rows_sub.append(p)
    rows_rel.append(np.zeros(len(p), dtype=np.int64))
    commercial = alive & ~senior & (plan[hh] == 0) & ((pop.member != CHILD) | (age < 26))
    p = np.flatnonzero(commercial)
    sub = sub_hh[hh[p]]
    base = fixed_ids("", 100_000_000 + (hh[p] * 7919 + 12345) % 899_999_999, 9)
    pos, sub_pos = p - head_of[hh[p]], sub - head_of[hh[p]]
    person = np.where(p == sub, 1, 2 + pos - (sub_pos < pos))  # subscriber 01, then 02, 03...
    prefix = take([c[1] for c in COMMERCIAL], payer_hh[hh[p]])
    rows_p.append(p)
    rows_payer.append(payer_hh[hh[p]])
    rows_member.append(to_objects(concat(prefix, base, fixed_ids("", person, 2))))
    rows_sub.append(sub)
    rel = np.where(p == sub, 0, np.where(pop.member[p] == CHILD, 2, 1))
    rows_rel.append(rel)
    medicaid = (
        alive & ~senior & ~commercial & ((plan[hh] == 1) | ((age < 19) & (rng.random(pop.n) < 0.7)))
    )
    p = np.flatnonzero(medicaid)
    rows_p.append(p)
    rows_payer.append(np.full(len(p), PAYERS.index(MEDICAID)))
    rows_member.append(to_objects(concat("MCD", fixed_ids("", rng.integers(0, 10**9, len(p)), 9))))
    rows_sub.append(p)
    rows_rel.append(np.zeros(len(p), dtype=np.int64))
    p = np.flatnonzero(senior & (rng.random(pop.n) < 0.35))  # Medicare supplements
    payer = rng.integers(0, len(COMMERCIAL), len(p))
    rows_p.append(p)
    rows_payer.append(payer)
    rows_member.append(
        to_objects(
            concat(
                take([c[1] for c in COMMERCIAL], payer),
                "S",
                fixed_ids("", rng.integers(0, 10**9, len(p)), 9),
            )
        )
    )
    rows_sub.append(p)
    rows_rel.append(np.zeros(len(p), dtype=np.int64))
    patient = np.concatenate(rows_p)
    order = np.argsort(patient, kind="stable")
    cov = Coverages(
        patient=patient[order],
        payer=np.concatenate(rows_payer)[order],
        member_id=np.concatenate(rows_member)[order],
        subscriber=np.concatenate(rows_sub)[order],
        relationship=np.concatenate(rows_rel)[order],
        primary=np.full(pop.n, -1, dtype=np.int64),
    )
    first_rows = (
        np.flatnonzero(np.r_[True, cov.patient[1:] != cov.patient[:-1]])
        if cov.n
        else np.zeros(0, np.int64)
    )
    cov.primary[cov.patient[first_rows]] = first_rows
    return cov


def coverage_frame(cov: Coverages, pop: Population) -> Frame:
    """The ``coverages`` table columns."""
    s = cov.subscriber
    return {
        "coverage_id": coverage_ids(np.arange(cov.n)),
        "patient_id": patient_ids(cov.patient),
        "payer": take(PAYERS, cov.payer),
        "member_id": cov.member_id,
        "subscriber_first_name": pop.first[s],
        "subscriber_last_name": pop.last[s],
        "subscriber_dob": pop.dob[s],
        "subscriber_relationship": take(RELATIONSHIPS, cov.relationship),
    }
