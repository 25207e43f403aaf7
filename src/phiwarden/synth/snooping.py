"""Injected snooping with ground truth: users opening records no workflow explains.

Eleven scenarios (domain.enums.SnoopingScenario): family, co-workers, neighbours, VIPs,
oneself, the deceased, a terminated user still logging in, after-hours browsing, a
call-center agent working through one physician's controlled-substance panel for weeks
(the seed case), bulk curiosity, and low-and-slow (one or two unrelated patients a week,
week after week, each opened once or twice inside the user's shift). A snooped patient is
never one the user is tied to by any record, nor one seen in the user's own department,
so the ground truth is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from phiwarden.domain.enums import Role
from phiwarden.domain.enums import SnoopingScenario as S
from phiwarden.synth.clinical import Clinical
from phiwarden.synth.columns import NULL_DAY, US, contains_sorted, unique_ints
from phiwarden.synth.encounters import Encounters
from phiwarden.synth.events import Events, draw_actions
from phiwarden.synth.ids import patient_ids, user_ids
from phiwarden.synth.names import vocab
from phiwarden.synth.organization import DAY_S, OFFICE_S, Org, R
from phiwarden.synth.population import Population
from phiwarden.synth.spec import SynthSpec
from phiwarden.synth.staff import NEVER, Staffing
from phiwarden.synth.timeline import Window, time_in_shift, time_off_shift
from phiwarden.synth.workforce import People

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SNOOP_ROLES = tuple(
    R[r]
    for r in (
        Role.PHYSICIAN,
        Role.NURSE,
        Role.REGISTRAR,
        Role.CALL_CENTER_AGENT,
        Role.IT_ANALYST,
        Role.ADMINISTRATOR,
    )
)
EPOCH = datetime(1970, 1, 1)


class Relations:
    """Which patients a user is tied to by a record or by their department's encounters."""

    def __init__(
        self,
        link_user: IntArray,
        link_patient: IntArray,
        org: Org,
        enc: Encounters,
        n_patients: int,
    ) -> None:
        self.np = n_patients
        self.org = org
        self.links = unique_ints(link_user.astype(np.int64) * n_patients + link_patient)
        self.dept_seen = unique_ints(enc.dept * n_patients + enc.patient)

    def free(self, user: int, patients: IntArray) -> IntArray:
        """The patients that nothing ties to ``user``."""
        tied = contains_sorted(self.links, user * self.np + patients)
        tied |= contains_sorted(self.dept_seen, int(self.org.dept[user]) * self.np + patients)
        return patients[~tied]


@dataclass
class Case:
    """One injected snooping case and its accesses."""

    user: int
    scenario: S
    patients: IntArray
    ts: IntArray
    patient_of: IntArray


def _iso(us: int) -> str:
    return (EPOCH + timedelta(microseconds=int(us))).strftime("%Y-%m-%dT%H:%M:%S")


class Injector:
    """Chooses snoopers and their victims and times their accesses."""

    def __init__(
        self,
        spec: SynthSpec,
        window: Window,
        org: Org,
        people: People,
        pop: Population,
        enc: Encounters,
        clin: Clinical,
        staff: Staffing,
        rel: Relations,
        rng: np.random.Generator,
    ) -> None:
        self.spec, self.window, self.org, self.people, self.pop = spec, window, org, people, pop
        self.enc, self.clin, self.staff, self.rel, self.rng = enc, clin, staff, rel, rng
        self.used: set[int] = set()
        self.alive = np.flatnonzero((pop.deceased == NULL_DAY) & ~pop.new)
        self.steady = np.isin(org.role, SNOOP_ROLES) & (staff.term == NEVER)

    def users(self, mask: BoolArray) -> IntArray:
        """Candidate users in random order, not yet used by another case."""
        cand = self.rng.permutation(np.flatnonzero(mask))
        return np.array([u for u in cand if int(u) not in self.used], dtype=np.int64)

    def times(self, user: int, n: int, days: IntArray, off_shift: bool = False) -> IntArray:
        """``n`` access times on the given days inside (or well outside) the user's shift."""
        d = days[self.rng.integers(0, len(days), n)]
        s = np.full(n, self.org.shift_start[user])
        e = np.full(n, self.org.shift_end[user])
        t = time_off_shift(d, s, e, self.rng) if off_shift else time_in_shift(d, s, e, self.rng)
        return np.clip(t, self.window.start, self.window.end - US)

    def case(
        self,
        user: int,
        scenario: S,
        patients: IntArray,
        per_patient: tuple[int, int],
        days: IntArray,
        off_shift: bool = False,
        spread: bool = False,
    ) -> Case:
        """Accesses to each patient (``per_patient`` range), on some of ``days``."""
        self.used.add(user)
        k = self.rng.integers(per_patient[0], per_patient[1] + 1, len(patients))
        patient_of = np.repeat(patients, k)
        if spread:
            ts = self.times(user, len(patient_of), days, off_shift)
        else:
            ts = (
                np.concatenate([self.times(user, int(c), self._span(days), off_shift) for c in k])
                if len(k)
                else np.zeros(0, np.int64)
            )
        return Case(user, scenario, patients, ts, patient_of)

    def _span(self, days: IntArray) -> IntArray:
        first = int(self.rng.integers(0, len(days)))
        return days[first : first + int(self.rng.integers(1, 6))]

    def window_days(self, after: int | None = None) -> IntArray:
        """Day numbers of the window (after a day, if given)."""
        days = self.window.start_day + np.arange(self.window.days)
        return days[days > after] if after is not None else days


def _pick(
    inj: Injector,
    scenario: S,
    candidates: IntArray,
    victims: Callable[[int], IntArray],
    limits: tuple[int, int],
    per: tuple[int, int],
    days: Callable[[int], IntArray],
    n: int,
    off_shift: bool = False,
    spread: bool = False,
) -> list[Case]:
    """Up to ``n`` cases: each candidate user with enough untied victims snoops on some.

    ``limits`` bounds how many victims, ``per`` how many accesses each; ``days`` gives a
    user's possible days; ``spread`` spreads all accesses over those days instead of a
    few consecutive ones per victim.
    """
    cases: list[Case] = []
    for u in candidates:
        if len(cases) == n:
            break
        user = int(u)
        pool = inj.rel.free(user, victims(user))
        if len(pool) < limits[0] or user in inj.used:
            continue
        size = int(inj.rng.integers(limits[0], min(limits[1], len(pool)) + 1))
        chosen = np.sort(inj.rng.choice(pool, size=size, replace=False))
        cases.append(inj.case(user, scenario, chosen, per, days(user), off_shift, spread))
    return cases


def inject_snooping(
    spec: SynthSpec,
    window: Window,
    org: Org,
    people: People,
    pop: Population,
    enc: Encounters,
    clin: Clinical,
    staff: Staffing,
    links: tuple[IntArray, IntArray],
    rng: np.random.Generator,
) -> tuple[Events, list[dict[str, Any]]]:
    """Snooping events and their ground truth, ``spec.snoopers_per_scenario`` per scenario.

    Scenarios with the fewest possible snoopers (agents, employees who are patients,
    terminated users) choose first.
    """
    inj = Injector(
        spec,
        window,
        org,
        people,
        pop,
        enc,
        clin,
        staff,
        Relations(links[0], links[1], org, enc, pop.n),
        rng,
    )
    n = spec.snoopers_per_scenario
    alive, hh, term = inj.alive, pop.household, staff.term
    is_pat = people.patient >= 0
    employees = np.flatnonzero((pop.employee >= 0) & (pop.deceased == NULL_DAY))
    block = pop.city * 1000 + pop.street
    bulk = int(np.clip(spec.patients // 20, 30, 200))

    def everyday(_u: int) -> IntArray:
        return inj.window_days()

    def family(u: int) -> IntArray:
        me = int(people.patient[u])
        return alive[(hh[alive] == hh[me]) & (alive != me)]

    def coworkers(u: int) -> IntArray:
        others = employees[pop.employee[employees] != u]
        same = others[org.dept[pop.employee[others]] == org.dept[u]]
        return same if len(same) >= 2 else others

    def neighbours(u: int) -> IntArray:
        near = alive[block[alive] == people.city[u] * 1000 + people.street[u]]
        me = int(people.patient[u])
        return near[hh[near] != hh[me]] if me >= 0 else near

    def anyone(_u: int) -> IntArray:
        return alive[rng.integers(0, len(alive), 60)]

    def many(_u: int) -> IntArray:
        return np.unique(alive[rng.integers(0, len(alive), bulk * 2)])

    def three_nights(_u: int) -> IntArray:
        return inj.window_days()[rng.permutation(window.days)[:3]]

    def two_days(_u: int) -> IntArray:
        d = int(rng.integers(0, window.days - 1))
        return inj.window_days()[d : d + 2]

    gone = np.isin(org.role, SNOOP_ROLES) & (term != NEVER) & (term < window.end_day - 1)
    office = np.isin(org.shift, (OFFICE_S, DAY_S))
    cases = _panel_cases(inj, n)
    cases += _pick(
        inj,
        S.SELF,
        inj.users(inj.steady & is_pat),
        lambda u: people.patient[u : u + 1],
        (1, 1),
        (2, 6),
        everyday,
        n,
    )
    cases += _pick(
        inj, S.FAMILY, inj.users(inj.steady & is_pat), family, (1, 3), (2, 6), everyday, n
    )
    cases += _pick(
        inj,
        S.TERMINATED,
        inj.users(gone),
        anyone,
        (3, 8),
        (1, 3),
        lambda u: inj.window_days(after=int(term[u])),
        n,
    )
    cases += _pick(inj, S.COWORKER, inj.users(inj.steady), coworkers, (2, 5), (1, 4), everyday, n)
    cases += _pick(inj, S.NEIGHBOUR, inj.users(inj.steady), neighbours, (2, 4), (1, 3), everyday, n)
    cases += _pick(
        inj,
        S.AFTER_HOURS,
        inj.users(inj.steady & office),
        anyone,
        (5, 12),
        (1, 2),
        three_nights,
        n,
        off_shift=True,
        spread=True,
    )
    vips, dead = np.flatnonzero(pop.vip), np.flatnonzero(pop.deceased != NULL_DAY)
    cases += _pick(inj, S.VIP, inj.users(inj.steady), lambda _u: vips, (1, 3), (1, 3), everyday, n)
    cases += _pick(
        inj, S.DECEASED, inj.users(inj.steady), lambda _u: dead, (1, 3), (1, 3), everyday, n
    )
    cases += _pick(
        inj,
        S.BULK_CURIOSITY,
        inj.users(inj.steady),
        many,
        (bulk, bulk),
        (1, 2),
        two_days,
        n,
        spread=True,
    )
    cases += _low_and_slow_cases(inj, inj.users(inj.steady), anyone, n)
    return _events(cases, rng), [_truth(c) for c in cases]


def _low_and_slow_cases(
    inj: Injector, candidates: IntArray, victims: Callable[[int], IntArray], n: int
) -> list[Case]:
    """Up to ``n`` users opening one or two untied patients in each week of the window.

    Needs at least three whole weeks; each patient is opened once or twice on one day.
    """
    weeks = inj.window.days // 7
    cases: list[Case] = []
    if weeks < 3:
        return cases
    days = inj.window_days()
    for u in candidates:
        if len(cases) == n:
            break
        user = int(u)
        per_week = inj.rng.integers(1, 3, weeks)
        pool = inj.rel.free(user, victims(user))
        if len(pool) < int(per_week.sum()) or user in inj.used:
            continue
        chosen = inj.rng.choice(pool, size=int(per_week.sum()), replace=False)
        day_of = np.repeat(np.arange(weeks) * 7, per_week) + inj.rng.integers(0, 7, len(chosen))
        k = inj.rng.integers(1, 3, len(chosen))
        ts = np.concatenate(
            [inj.times(user, int(c), days[d : d + 1]) for c, d in zip(k, day_of, strict=True)]
        )
        inj.used.add(user)
        cases.append(Case(user, S.LOW_AND_SLOW, np.sort(chosen), ts, np.repeat(chosen, k)))
    return cases


def _panel_cases(inj: Injector, n: int) -> list[Case]:
    """The seed case: an agent opens one PCP's controlled-substance panel over many days.

    Panels whose patients live in several states are preferred, as in the seed case.
    """
    pop, enc, clin = inj.pop, inj.enc, inj.clin
    on_panel = np.flatnonzero((clin.panel_drug >= 0) & (pop.deceased == NULL_DAY))
    state = _state_of_city()[pop.city]
    pcps, sizes = np.unique(enc.pcp[on_panel], return_counts=True)
    pcps = pcps[np.argsort(-sizes, kind="stable")]
    cases: list[Case] = []
    days = inj.window_days()
    for need_states in (2, 1):
        for pcp in pcps:
            if len(cases) == n:
                return cases
            panel = on_panel[enc.pcp[on_panel] == pcp]
            for a in inj.users(inj.steady & (inj.org.role == R[Role.CALL_CENTER_AGENT])):
                user = int(a)
                pool = inj.rel.free(user, panel)
                if len(pool) < 3 or len(np.unique(state[pool])) < need_states:
                    continue
                pool = inj.rng.permutation(pool)
                _, one_per_state = np.unique(state[pool], return_index=True)
                first = pool[np.sort(one_per_state)]
                rest = pool[~np.isin(pool, first)]
                size = max(3, len(first), int(len(pool) * inj.rng.uniform(0.6, 0.9)))
                chosen = np.sort(np.concatenate([first, rest])[:size])
                cases.append(
                    inj.case(user, S.CONTROLLED_SUBSTANCE_PANEL, chosen, (1, 3), days, spread=True)
                )
                break
    return cases


def _state_of_city() -> IntArray:
    states = [c.state for c in vocab().cities]
    names = sorted(set(states))
    return np.array([names.index(s) for s in states], dtype=np.int64)


def _events(cases: list[Case], rng: np.random.Generator) -> Events:
    if not cases:
        return Events.of(
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, np.int8),
        )
    ts = np.concatenate([c.ts for c in cases])
    user = np.concatenate([np.full(len(c.ts), c.user) for c in cases])
    patient = np.concatenate([c.patient_of for c in cases])
    return Events.of(
        ts, user, patient, draw_actions(rng, len(ts), update=0.0, printed=0.06, search=0.05)
    )


def _truth(c: Case) -> dict[str, Any]:
    return {
        "user_id": str(user_ids(np.array([c.user]))[0]),
        "scenario": c.scenario.value,
        "patient_ids": [str(p) for p in patient_ids(np.unique(c.patient_of)).to_pylist()],
        "start": _iso(int(c.ts.min())),
        "end": _iso(int(c.ts.max())),
    }
