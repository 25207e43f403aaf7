"""The health system's structure: facilities, departments, and workforce jobs and shifts.

Who people are (names, homes) is added by ``workforce.py``; this module decides what
each workforce member does, where and when: role, department, shift, hire and
termination dates, and manager.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from phiwarden.domain.enums import DepartmentKind, Role
from phiwarden.synth.columns import NULL_DAY, day_number
from phiwarden.synth.names import vocab
from phiwarden.synth.spec import SynthSpec

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: The roles the generator staffs (never "other", which only ingest assigns).
ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.OTHER)
KINDS: tuple[DepartmentKind, ...] = tuple(DepartmentKind)
R = {r: i for i, r in enumerate(ROLES)}
K = {k: i for i, k in enumerate(KINDS)}

#: (name, start hour, end hour); night wraps past midnight.
SHIFTS: tuple[tuple[str, int, int], ...] = (
    ("day", 7, 19),
    ("evening", 15, 23),
    ("night", 23, 7),
    ("office", 8, 17),
)
DAY_S, EVE_S, NIGHT_S, OFFICE_S = 0, 1, 2, 3

FACILITIES: tuple[tuple[str, str, str], ...] = (
    ("Riverbend Medical Center", "St. Louis", "MO"),
    ("Riverbend Springfield Hospital", "Springfield", "IL"),
    ("Riverbend Wichita Hospital", "Wichita", "KS"),
    ("Riverbend Dallas Medical Center", "Dallas", "TX"),
    ("Riverbend Los Angeles Hospital", "Los Angeles", "CA"),
    ("Riverbend Albany Hospital", "Albany", "NY"),
    ("Riverbend Orlando Hospital", "Orlando", "FL"),
    ("Riverbend Kansas City Hospital", "Kansas City", "MO"),
    ("Riverbend Belleville Hospital", "Belleville", "IL"),
    ("Riverbend Overland Park Hospital", "Overland Park", "KS"),
    ("Riverbend Houston Hospital", "Houston", "TX"),
    ("Riverbend San Diego Hospital", "San Diego", "CA"),
    ("Riverbend Buffalo Hospital", "Buffalo", "NY"),
    ("Riverbend Miami Hospital", "Miami", "FL"),
    ("Riverbend Columbia Hospital", "Columbia", "MO"),
    ("Riverbend Austin Hospital", "Austin", "TX"),
)

#: Clinical departments in the order facilities gain them; (name, has inpatient beds).
SPECIALTIES: tuple[tuple[str, bool], ...] = (
    ("Primary Care", False),
    ("Internal Medicine", True),
    ("General Surgery", True),
    ("Pediatrics", True),
    ("Cardiology", True),
    ("Obstetrics", True),
    ("Oncology", True),
    ("Orthopedics", True),
    ("Behavioral Health", False),
    ("Neurology", False),
)
#: Departments every facility has, and shared services at the flagship (facility 0).
EVERY_FACILITY = (
    ("Emergency Department", DepartmentKind.EMERGENCY),
    ("Registration", DepartmentKind.REGISTRATION),
    ("Laboratory", DepartmentKind.LAB),
    ("Radiology", DepartmentKind.RADIOLOGY),
    ("Pharmacy", DepartmentKind.PHARMACY),
)
SHARED = (
    ("Patient Financial Services", DepartmentKind.BILLING),
    ("Coding", DepartmentKind.CODING),
    ("Patient Access Call Center", DepartmentKind.CALL_CENTER),
    ("Health Information Management", DepartmentKind.HIM),
    ("Information Technology", DepartmentKind.IT),
    ("Administration", DepartmentKind.ADMIN),
)

#: Share of the workforce per role and the minimum head count.
ROLE_MIX: dict[Role, tuple[float, int]] = {
    Role.PHYSICIAN: (0.13, 4),
    Role.NURSE: (0.33, 6),
    Role.REGISTRAR: (0.08, 3),
    Role.BILLER: (0.06, 2),
    Role.CODER: (0.04, 1),
    Role.CALL_CENTER_AGENT: (0.08, 5),
    Role.LAB_TECH: (0.06, 2),
    Role.RADIOLOGY_TECH: (0.04, 1),
    Role.PHARMACIST: (0.04, 2),
    Role.HIM_ANALYST: (0.03, 1),
    Role.IT_ANALYST: (0.04, 1),
    Role.ADMINISTRATOR: (0.07, 2),
}
_ROLE_KIND = {
    Role.REGISTRAR: DepartmentKind.REGISTRATION,
    Role.BILLER: DepartmentKind.BILLING,
    Role.CODER: DepartmentKind.CODING,
    Role.CALL_CENTER_AGENT: DepartmentKind.CALL_CENTER,
    Role.LAB_TECH: DepartmentKind.LAB,
    Role.RADIOLOGY_TECH: DepartmentKind.RADIOLOGY,
    Role.PHARMACIST: DepartmentKind.PHARMACY,
    Role.HIM_ANALYST: DepartmentKind.HIM,
    Role.IT_ANALYST: DepartmentKind.IT,
    Role.ADMINISTRATOR: DepartmentKind.ADMIN,
}
_ROUND_THE_CLOCK = (DAY_S, NIGHT_S, EVE_S, DAY_S, NIGHT_S, EVE_S, DAY_S)


@dataclass
class Org:
    """Facilities, departments and the jobs of the workforce (numpy arrays by position)."""

    fac_name: list[str]
    fac_city: list[int]
    fac_weight: npt.NDArray[np.float64]
    dept_name: list[str]
    dept_kind: IntArray
    dept_fac: IntArray
    dept_specialty: IntArray  # index into SPECIALTIES, -1 for non-clinical
    role: IntArray
    dept: IntArray
    shift: IntArray
    hire_day: IntArray
    term_day: IntArray  # NULL_DAY when still employed
    manager: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_users(self) -> int:
        """Workforce size."""
        return len(self.role)

    @property
    def shift_start(self) -> IntArray:
        """Shift start hour per user."""
        return np.array([s[1] for s in SHIFTS], dtype=np.int64)[self.shift]

    @property
    def shift_end(self) -> IntArray:
        """Shift end hour per user (smaller than the start for night shifts)."""
        return np.array([s[2] for s in SHIFTS], dtype=np.int64)[self.shift]

    @property
    def user_fac(self) -> IntArray:
        """Facility of each user's department."""
        return self.dept_fac[self.dept]

    @property
    def user_kind(self) -> IntArray:
        """Department kind of each user."""
        return self.dept_kind[self.dept]

    def depts(self, kind: DepartmentKind, fac: int | None = None) -> IntArray:
        """Departments of a kind (at one facility if given)."""
        mask = self.dept_kind == K[kind]
        if fac is not None:
            mask &= self.dept_fac == fac
        return np.flatnonzero(mask)

    def specialty_depts(self, name: str) -> IntArray:
        """Clinical departments of a named specialty."""
        idx = [s[0] for s in SPECIALTIES].index(name)
        return np.flatnonzero(self.dept_specialty == idx)


def _departments(
    n_fac: int, staff: npt.NDArray[np.float64]
) -> tuple[list[str], list[int], list[int], list[int]]:
    names: list[str] = []
    kinds: list[int] = []
    facs: list[int] = []
    specs: list[int] = []
    for f in range(n_fac):
        town = FACILITIES[f][1]
        n_clinical = 2 + int(np.clip(staff[f] // 30, 0, len(SPECIALTIES) - 2))
        for s in range(n_clinical):
            names.append(f"{SPECIALTIES[s][0]} - {town}")
            kinds.append(K[DepartmentKind.CLINICAL])
            facs.append(f)
            specs.append(s)
        for name, kind in EVERY_FACILITY:
            names.append(f"{name} - {town}")
            kinds.append(K[kind])
            facs.append(f)
            specs.append(-1)
    for name, kind in SHARED:
        names.append(name)
        kinds.append(K[kind])
        facs.append(0)
        specs.append(-1)
    return names, kinds, facs, specs


def _role_counts(n: int) -> dict[Role, int]:
    shares = np.array([ROLE_MIX[r][0] for r in ROLES])
    mins = np.array([ROLE_MIX[r][1] for r in ROLES])
    counts = np.maximum(mins, np.floor(shares * n).astype(np.int64))
    while counts.sum() > n:
        counts[int(np.argmax(counts - mins))] -= 1
    order = np.argsort(-(shares * n - np.floor(shares * n)), kind="stable")
    i = 0
    while counts.sum() < n:
        counts[order[i % len(order)]] += 1
        i += 1
    return {r: int(c) for r, c in zip(ROLES, counts, strict=True)}


def _candidate_depts(
    role: Role, kinds: IntArray, specs: IntArray, facs: IntArray, fac_w: npt.NDArray[np.float64]
) -> tuple[IntArray, npt.NDArray[np.float64], IntArray]:
    """Departments a role works in, their weights and their staffing priority."""
    if role in _ROLE_KIND:
        depts = np.flatnonzero(kinds == K[_ROLE_KIND[role]])
        return depts, fac_w[facs[depts]], facs[depts]
    ed = np.flatnonzero(kinds == K[DepartmentKind.EMERGENCY])
    clin = np.flatnonzero(kinds == K[DepartmentKind.CLINICAL])
    depts = np.concatenate([clin, ed])
    is_ed = np.concatenate([np.zeros(len(clin), bool), np.ones(len(ed), bool)])
    sp = specs[depts]
    if role == Role.PHYSICIAN:
        share = np.where(is_ed, 0.2, np.where(sp == 0, 0.35, np.where(sp == 1, 0.2, 0.12)))
        rank = np.where(sp == 0, 0, np.where(is_ed, 1, np.where(sp == 1, 2, 3 + sp)))
    else:
        share = np.where(is_ed, 0.25, np.where(sp == 0, 0.12, np.where(sp == 1, 0.3, 0.15)))
        rank = np.where(sp == 1, 0, np.where(is_ed, 1, np.where(sp == 0, 2, 3 + sp)))
    fac = facs[depts]
    return depts, share * fac_w[fac], rank * 100 + fac


def _shift_pattern(role: Role, kind: int, spec_idx: int) -> tuple[int, ...]:
    if (
        role in (Role.LAB_TECH, Role.PHARMACIST, Role.REGISTRAR)
        or kind == K[DepartmentKind.EMERGENCY]
    ):
        return (DAY_S, EVE_S, NIGHT_S, DAY_S, OFFICE_S, EVE_S)
    if role == Role.RADIOLOGY_TECH:
        return (DAY_S, EVE_S, DAY_S, NIGHT_S)
    if role == Role.CALL_CENTER_AGENT:
        return (OFFICE_S, EVE_S, OFFICE_S, DAY_S, OFFICE_S)
    if role == Role.IT_ANALYST:
        return (OFFICE_S, OFFICE_S, EVE_S)
    if role in (Role.PHYSICIAN, Role.NURSE) and spec_idx >= 0 and SPECIALTIES[spec_idx][1]:
        if role == Role.PHYSICIAN:
            return (DAY_S, DAY_S, EVE_S, NIGHT_S)
        return _ROUND_THE_CLOCK
    if role == Role.NURSE:
        return (OFFICE_S, DAY_S)
    return (OFFICE_S,)


def build_org(spec: SynthSpec, rng: np.random.Generator) -> Org:
    """Facilities, departments and every workforce member's job, shift and dates."""
    v = vocab()
    n_fac = spec.n_facilities
    fac_w = np.array([3.0] + [1.0] * (n_fac - 1))
    staff = fac_w / fac_w.sum() * spec.workforce
    names, kinds_l, facs_l, specs_l = _departments(n_fac, staff)
    kinds, facs, specs = np.array(kinds_l), np.array(facs_l), np.array(specs_l)
    role_l: list[int] = []
    dept_l: list[int] = []
    for role, count in _role_counts(spec.workforce).items():
        depts, weights, prio = _candidate_depts(role, kinds, specs, facs, fac_w)
        order = depts[np.lexsort((depts, prio))]
        first = order[: min(count, len(order))]
        rest = rng.choice(depts, size=count - len(first), p=weights / weights.sum())
        for d in np.concatenate([first, rest]).astype(np.int64):
            role_l.append(R[role])
            dept_l.append(int(d))
    role_a, dept_a = np.array(role_l, dtype=np.int64), np.array(dept_l, dtype=np.int64)
    shift = np.zeros(len(role_a), dtype=np.int64)
    seen: dict[int, int] = {}
    for u in range(len(role_a)):
        key = int(dept_a[u]) * len(ROLES) + int(role_a[u])
        k = seen.get(key, 0)
        seen[key] = k + 1
        pattern = _shift_pattern(ROLES[role_a[u]], int(kinds[dept_a[u]]), int(specs[dept_a[u]]))
        shift[u] = pattern[k % len(pattern)]
    start = day_number(spec.start)
    years = rng.gamma(2.0, 3.5, size=len(role_a))
    hire = (
        start
        - 60
        - (np.minimum(years, 35) * 365.25).astype(np.int64)
        - rng.integers(0, 365, len(role_a))
    )
    term = _terminations(spec, rng, role_a, dept_a, start)
    org = Org(
        fac_name=[FACILITIES[f][0] for f in range(n_fac)],
        fac_city=[v.city_index(FACILITIES[f][2], FACILITIES[f][1]) for f in range(n_fac)],
        fac_weight=fac_w,
        dept_name=names,
        dept_kind=kinds,
        dept_fac=facs,
        dept_specialty=specs,
        role=role_a,
        dept=dept_a,
        shift=shift,
        hire_day=hire,
        term_day=term,
    )
    org.manager = _managers(org)
    return org


def _terminations(
    spec: SynthSpec, rng: np.random.Generator, role: IntArray, dept: IntArray, start: int
) -> IntArray:
    """Some users have left: half before the window, half during it (none of a lone role)."""
    n = len(role)
    term = np.full(n, NULL_DAY, dtype=np.int64)
    _, first_in_dept = np.unique(dept * len(ROLES) + role, return_index=True)
    eligible = np.ones(n, dtype=bool)
    eligible[first_in_dept] = False
    eligible &= role != R[Role.ADMINISTRATOR]
    per_role = np.bincount(role, minlength=len(ROLES))
    eligible &= per_role[role] >= 4
    count = max(round(0.03 * n), spec.snoopers_per_scenario + 3)
    cap = np.maximum(1, per_role // 5)  # no role loses more than a fifth of its people
    taken = np.zeros(len(ROLES), dtype=np.int64)
    picked: list[int] = []
    for u in rng.permutation(np.flatnonzero(eligible)):
        if len(picked) == count:
            break
        if taken[role[u]] < cap[role[u]]:
            taken[role[u]] += 1
            picked.append(int(u))
    chosen = np.sort(np.array(picked, dtype=np.int64))
    count = len(chosen)
    during = np.arange(count) % 2 == 0
    term[chosen[during]] = start + rng.integers(1, max(2, spec.days // 2), size=int(during.sum()))
    term[chosen[~during]] = start - rng.integers(5, 300, size=int((~during).sum()))
    return term


def _managers(org: Org) -> IntArray:
    """Each department's longest-serving active member manages it; an administrator tops all."""
    n = org.n_users
    active = org.term_day == NULL_DAY
    admins = np.flatnonzero((org.role == R[Role.ADMINISTRATOR]) & active)
    top = int(admins[np.argmin(org.hire_day[admins])])
    manager = np.full(n, top, dtype=np.int64)
    for d in np.unique(org.dept):
        members = np.flatnonzero((org.dept == d) & active)
        if len(members) == 0:
            continue
        head = int(members[np.argmin(org.hire_day[members])])
        in_dept = org.dept == d
        manager[in_dept] = head
        manager[head] = top
    manager[top] = -1
    return manager
