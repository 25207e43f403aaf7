"""Orders, lab results and prescriptions of the encounters, and controlled-substance panels.

Labs and imaging are ordered by the attending and performed by a technician of the
facility's lab or radiology department who is on shift. About one in ten adult patients
of each primary-care physician has a controlled-substance prescription renewed every
four weeks: the PCP's controlled-substance panel, target of the seed snooping case.
ABO/Rh results carry the patient's blood type unless an injected theft forces another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.domain.enums import DepartmentKind, Role
from phiwarden.synth.columns import (
    DAY,
    HOUR,
    MINUTE,
    NULL_DAY,
    Frame,
    concat,
    take,
    to_weekday,
    unique_ints,
)
from phiwarden.synth.encounters import ED, IP, OP, TH, Encounters, Forced
from phiwarden.synth.formulary import (
    ABO_TEST,
    DRUGS,
    ED_DRUGS,
    FIRST_TEST,
    IMAGING,
    IP_DRUGS,
    LAB_PANELS,
    OFFICE_DRUGS,
    ORDER_KINDS,
    PANEL_DRUGS,
    SCHEDULE_OF,
    SCHEDULES,
    SCREEN_TEST,
    TESTS,
    TYPE_AND_SCREEN,
)
from phiwarden.synth.ids import dept_ids, encounter_ids, ids, order_ids, patient_ids, user_ids
from phiwarden.synth.names import vocab
from phiwarden.synth.organization import Org, R
from phiwarden.synth.population import BLOOD_TYPES, Population
from phiwarden.synth.staff import Staffing
from phiwarden.synth.timeline import Window

IntArray = npt.NDArray[np.int64]

PANEL_SHARE = 0.10
FAR_PANEL_SHARE = 0.35
MIN_PANEL = 8
REFILL_HISTORY_DAYS = 180


@dataclass
class Clinical:
    """Orders (with the technician who performed each), results and prescriptions."""

    ord_enc: IntArray
    ord_patient: IntArray
    ord_kind: IntArray
    ord_code: IntArray
    ord_by: IntArray
    ord_dept: IntArray
    ord_at: IntArray
    ord_tech: IntArray
    ord_done: IntArray
    res_order: IntArray
    res_test: IntArray
    res_value: pa.Array
    res_at: IntArray
    rx_enc: IntArray
    rx_patient: IntArray
    rx_prescriber: IntArray
    rx_drug: IntArray
    rx_at: IntArray
    rx_pharmacist: IntArray
    rx_checked_at: IntArray
    panel_drug: IntArray  # per patient: controlled substance on the PCP's panel, -1 if none

    @property
    def res_patient(self) -> IntArray:
        """Patient of each result."""
        return self.ord_patient[self.res_order]

    @property
    def res_by(self) -> IntArray:
        """Technician who released each result."""
        return self.ord_tech[self.res_order]


def _lab_and_imaging(
    enc: Encounters, window: Window, forced: Forced, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    n = enc.n
    days = (enc.work_end(window) - enc.start) / DAY
    lab = np.select(
        [enc.etype == OP, enc.etype == ED, enc.etype == IP],
        [rng.binomial(1, 0.35, n), rng.binomial(2, 0.55, n), 1 + rng.poisson(0.8 * days)],
        0,
    )
    rad = np.select(
        [enc.etype == OP, enc.etype == ED, enc.etype == IP],
        [rng.binomial(1, 0.08, n), rng.binomial(1, 0.45, n), rng.poisson(0.35 * days)],
        0,
    )
    has_abo = (enc.forced >= 0) & (forced.abo[np.maximum(enc.forced, 0)] >= 0)
    lab = np.where(has_abo, np.maximum(lab, 1), lab)
    return lab, rad


def build_clinical(
    window: Window,
    org: Org,
    pop: Population,
    enc: Encounters,
    forced: Forced,
    staff: Staffing,
    rng: np.random.Generator,
) -> Clinical:
    """Orders, results and prescriptions for all encounters, plus panel refills."""
    lab_n, rad_n = _lab_and_imaging(enc, window, forced, rng)
    o_enc = np.concatenate([np.repeat(np.arange(enc.n), lab_n), np.repeat(np.arange(enc.n), rad_n)])
    kind = np.concatenate([np.zeros(lab_n.sum(), np.int64), np.ones(rad_n.sum(), np.int64)])
    m = len(o_enc)
    first_of_enc = np.r_[True, o_enc[1:] != o_enc[:-1]]
    weights = np.array([p[2] for p in LAB_PANELS])
    acute = (enc.etype[o_enc] == ED) | (enc.etype[o_enc] == IP)
    code = np.where(
        kind == 0,
        rng.choice(len(LAB_PANELS), size=m, p=weights / weights.sum()),
        rng.integers(0, len(IMAGING), m),
    )
    code = np.where(
        (kind == 0) & acute & first_of_enc & (rng.random(m) < 0.3), TYPE_AND_SCREEN, code
    )
    f = enc.forced[o_enc]
    forced_abo = (kind == 0) & first_of_enc & (f >= 0) & (forced.abo[np.maximum(f, 0)] >= 0)
    code = np.where(forced_abo, TYPE_AND_SCREEN, code)
    span = enc.work_end(window)[o_enc] - enc.start[o_enc]
    frac = np.where(enc.etype[o_enc] == IP, rng.uniform(0.0, 0.9, m), rng.uniform(0.1, 0.6, m))
    at = enc.start[o_enc] + (frac * span).astype(np.int64)
    fac = enc.fac[o_enc]
    lab_dept = np.array(
        [org.depts(DepartmentKind.LAB, int(x))[0] for x in range(len(org.fac_name))]
    )
    rad_dept = np.array(
        [org.depts(DepartmentKind.RADIOLOGY, int(x))[0] for x in range(len(org.fac_name))]
    )
    dept = np.where(kind == 0, lab_dept[fac], rad_dept[fac])
    done = at + rng.integers(10, 90, m) * MINUTE
    tech = staff.pick(
        np.where(kind == 0, R[Role.LAB_TECH], R[Role.RADIOLOGY_TECH]), dept, done, rng
    )
    order = np.lexsort((o_enc, at))
    o_enc, kind, code, at, dept, done, tech, forced_abo = (
        a[order] for a in (o_enc, kind, code, at, dept, done, tech, forced_abo)
    )
    patient = enc.patient[o_enc]
    # results of lab orders
    labs = np.flatnonzero(kind == 0)
    n_tests = np.array([len(p[3]) for p in LAB_PANELS])[code[labs]]
    r_order = np.repeat(labs, n_tests)
    within = np.arange(len(r_order)) - np.repeat(np.cumsum(n_tests) - n_tests, n_tests)
    r_test = FIRST_TEST[code[r_order]] + within
    r_at = (
        done[r_order] + rng.integers(20, 180, len(done))[r_order] * MINUTE
    )  # one release per order
    blood = pop.blood[patient[r_order]].copy()
    fo = enc.forced[o_enc[r_order]]
    override = forced_abo[r_order] & (fo >= 0)
    blood[override] = forced.abo[fo[override]]
    keep = r_at < window.end
    r_order, r_test, r_at, blood = r_order[keep], r_test[keep], r_at[keep], blood[keep]
    values = _values(r_test, blood, rng)
    rx = _prescriptions(window, org, pop, enc, staff, rng)
    return Clinical(
        ord_enc=o_enc,
        ord_patient=patient,
        ord_kind=kind,
        ord_code=code,
        ord_by=enc.attending[o_enc],
        ord_dept=dept,
        ord_at=at,
        ord_tech=tech,
        ord_done=done,
        res_order=r_order,
        res_test=r_test,
        res_value=values,
        res_at=r_at,
        **rx,
    )


def _values(test: IntArray, blood: IntArray, rng: np.random.Generator) -> pa.Array:
    """Result values as text with units: numbers drawn per test, blood type for ABO/Rh."""
    mean = np.array([t[1] for t in TESTS], dtype=np.float64)[test]
    sd = np.array([t[2] for t in TESTS], dtype=np.float64)[test]
    dec = np.array([t[4] for t in TESTS])[test]
    raw = np.abs(mean + sd * rng.standard_normal(len(test)))
    text = pa.array(np.zeros(len(test), dtype=np.int64)).cast(pa.string())
    for d in np.unique(dec):
        rows = dec == d
        col = pa.array(np.round(raw, int(d)))
        col = (
            col.cast(pa.int64()).cast(pa.string())
            if d == 0
            else pc.round(col, int(d)).cast(pa.string())
        )
        text = pc.if_else(pa.array(rows), col, text) if len(col) else text
    unit = take([f" {t[3]}" if t[3] else "" for t in TESTS], test)
    out = concat(text, unit)
    out = pc.if_else(pa.array(test == ABO_TEST), take(BLOOD_TYPES, blood), out)
    return pc.if_else(pa.array(test == SCREEN_TEST), pa.scalar("Negative"), out)


def _prescriptions(
    window: Window,
    org: Org,
    pop: Population,
    enc: Encounters,
    staff: Staffing,
    rng: np.random.Generator,
) -> dict[str, IntArray]:
    n = enc.n
    age = pop.age_years(window.start_day)
    # patients travelling from another state to their PCP are more often on the panel
    pcp_state = _state_codes(org.fac_city)[org.user_fac[np.maximum(enc.pcp, 0)]]
    far = pcp_state != _city_state()[pop.city]
    share = np.where(far, FAR_PANEL_SHARE, PANEL_SHARE)
    adult = (enc.pcp >= 0) & (age >= 18) & (pop.deceased == NULL_DAY)
    panel = adult & (rng.random(pop.n) < share)
    for pcp in unique_ints(enc.pcp[adult]):  # every PCP keeps a panel worth the name
        mine = np.flatnonzero(adult & (enc.pcp == pcp))
        short = MIN_PANEL - int(panel[mine].sum())
        if short > 0:
            panel[rng.permutation(mine[~panel[mine]])[:short]] = True
    panel_drug = np.where(panel, PANEL_DRUGS[rng.integers(0, len(PANEL_DRUGS), pop.n)], -1)
    office = (enc.etype == OP) | (enc.etype == TH)
    n_rx = np.select(
        [office, enc.etype == ED, enc.etype == IP],
        [rng.binomial(1, 0.45, n), rng.binomial(1, 0.35, n), 2 + rng.poisson(1.0, n)],
        0,
    )
    e = np.repeat(np.arange(n), n_rx)
    drug = np.select(
        [office[e], enc.etype[e] == ED],
        [
            OFFICE_DRUGS[rng.integers(0, len(OFFICE_DRUGS), len(e))],
            ED_DRUGS[rng.integers(0, len(ED_DRUGS), len(e))],
        ],
        IP_DRUGS[rng.integers(0, len(IP_DRUGS), len(e))],
    )
    visit = np.flatnonzero(
        office & (panel_drug[enc.patient] >= 0) & (enc.attending == enc.pcp[enc.patient])
    )
    e = np.concatenate([e, visit])
    drug = np.concatenate([drug, panel_drug[enc.patient[visit]]])
    span = enc.work_end(window)[e] - enc.start[e]
    frac = np.where(enc.etype[e] == IP, rng.uniform(0, 0.3, len(e)), rng.uniform(0.3, 0.9, len(e)))
    at = enc.start[e] + (frac * span).astype(np.int64)
    prescriber = enc.attending[e]
    # four-weekly refills of the panel, without a visit
    pts = np.flatnonzero(panel_drug >= 0)
    first = window.start_day - REFILL_HISTORY_DAYS + rng.integers(0, 28, len(pts))
    count = np.maximum(0, (window.end_day - first + 27) // 28)
    rp = np.repeat(pts, count)
    k = np.arange(len(rp)) - np.repeat(np.cumsum(count) - count, count)
    day = to_weekday(np.repeat(first, count) + 28 * k + rng.integers(-2, 3, len(rp)))
    keep = day < window.end_day
    rp, day = rp[keep], day[keep]
    r_at = day * DAY + ((9 + rng.random(len(rp)) * 7.5) * HOUR).astype(np.int64)
    all_enc = np.concatenate([e, np.full(len(rp), -1)])
    patient = np.concatenate([enc.patient[e], rp])
    drugs = np.concatenate([drug, panel_drug[rp]])
    times = np.concatenate([at, r_at])
    who = np.concatenate([prescriber, enc.pcp[rp]])
    fac = np.concatenate([enc.fac[e], org.user_fac[enc.pcp[rp]]])
    pharm_dept = np.array(
        [org.depts(DepartmentKind.PHARMACY, int(x))[0] for x in range(len(org.fac_name))]
    )
    checked = times + rng.integers(5, 90, len(times)) * MINUTE
    pharmacist = staff.pick(R[Role.PHARMACIST], pharm_dept[fac], checked, rng)
    order = np.lexsort((patient, times))
    return {
        "rx_enc": all_enc[order],
        "rx_patient": patient[order],
        "rx_prescriber": who[order],
        "rx_drug": drugs[order],
        "rx_at": times[order],
        "rx_pharmacist": pharmacist[order],
        "rx_checked_at": checked[order],
        "panel_drug": panel_drug,
    }


def _city_state() -> IntArray:
    """State code of every town."""
    states = [c.state for c in vocab().cities]
    names = sorted(set(states))
    return np.array([names.index(x) for x in states], dtype=np.int64)


def _state_codes(cities: list[int]) -> IntArray:
    return _city_state()[np.asarray(cities, dtype=np.int64)]


def orders_frame(clin: Clinical) -> Frame:
    """The ``orders`` table columns."""
    lab = clin.ord_kind == 0
    return {
        "order_id": order_ids(np.arange(len(clin.ord_enc))),
        "encounter_id": encounter_ids(clin.ord_enc),
        "patient_id": patient_ids(clin.ord_patient),
        "kind": take(ORDER_KINDS, clin.ord_kind),
        "code": pc.if_else(
            pa.array(lab),
            take([p[0] for p in LAB_PANELS], np.where(lab, clin.ord_code, 0)),
            take([c for c, _ in IMAGING], np.where(lab, 0, clin.ord_code)),
        ),
        "description": pc.if_else(
            pa.array(lab),
            take([p[1] for p in LAB_PANELS], np.where(lab, clin.ord_code, 0)),
            take([d for _, d in IMAGING], np.where(lab, 0, clin.ord_code)),
        ),
        "ordered_by_user_id": user_ids(clin.ord_by),
        "performing_department_id": dept_ids(clin.ord_dept),
        "ordered_at": clin.ord_at,
    }


def results_frame(clin: Clinical) -> Frame:
    """The ``lab_results`` table columns."""
    return {
        "result_id": ids("R", np.arange(len(clin.res_order))),
        "order_id": order_ids(clin.res_order),
        "patient_id": patient_ids(clin.res_patient),
        "test": take([t[0] for t in TESTS], clin.res_test),
        "value": clin.res_value,
        "resulted_by_user_id": user_ids(clin.res_by),
        "resulted_at": clin.res_at,
    }


def prescriptions_frame(clin: Clinical) -> Frame:
    """The ``prescriptions`` table columns."""
    return {
        "prescription_id": ids("RX", np.arange(len(clin.rx_patient))),
        "encounter_id": encounter_ids(clin.rx_enc),
        "patient_id": patient_ids(clin.rx_patient),
        "prescriber_user_id": user_ids(clin.rx_prescriber),
        "drug": take([d for d, _ in DRUGS], clin.rx_drug),
        "dea_schedule": take(SCHEDULES, SCHEDULE_OF[clin.rx_drug]),
        "prescribed_at": clin.rx_at,
    }
