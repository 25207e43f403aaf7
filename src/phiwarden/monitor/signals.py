"""What every detector receives and returns.

A detector is a function of :class:`Inputs` returning a signal table with the columns of
:data:`SIGNAL_COLUMNS`: one row per (user, patient) it implicates, a ``factor`` that
scales the detector's weight (1.0 unless some cases weigh more) and ``detail``, the
evidence in words, built from data values only so every engine writes the same text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from phiwarden.monitor.context import Context
from phiwarden.monitor.shifts import learned_shifts

SIGNAL_COLUMNS = ("user_id", "patient_id", "factor", "detail")
#: The per-user daily counts the baselines (volume) read.
HISTORY_SCHEMA = pa.schema(
    [("user_id", pa.string()), ("day", pa.date32()), ("unexplained_patients", pa.int64())]
)


@dataclass
class Inputs:
    """The run's context plus its openings: all, unexplained, and unexplained pairs."""

    ctx: Context
    #: every opening (user, patient, hour): accesses, first, last, btg
    openings: ir.Table
    #: openings no template explains
    unexplained: ir.Table
    #: unexplained (user, patient): accesses, first, last, btg, openings
    pairs: ir.Table
    #: (user_id, day, unexplained_patients) of stored history plus this window
    history: pa.Table = field(default_factory=lambda: HISTORY_SCHEMA.empty_table())

    @property
    def workforce(self) -> ir.Table:
        """The workforce with matching keys."""
        return self.ctx["workforce"]

    def of_users(self, column: str) -> dict[str, Any]:
        """One workforce column by user_id (department, role, name...), from the Arrow copy."""
        w = self.ctx.arrow["workforce"]
        return dict(zip(w["user_id"].to_pylist(), w[column].to_pylist(), strict=True))

    @property
    def patients(self) -> ir.Table:
        """The patient index with matching keys."""
        return self.ctx["patients"]


@dataclass(frozen=True)
class Detector:
    """One catalogue entry: what it finds, how much it weighs, why it matters."""

    code: str
    title: str
    weight: float
    why: str
    #: the reason in plain words; ``{n}`` is the number of patients
    reason: str
    find: Callable[[Inputs], ir.Table]
    #: an attribute many patients have (VIP, employee, a street): its weight is scaled by
    #: how unlikely the user's count is given how common it is among unexplained patients
    common: bool = False
    #: whether the weight grows with the number of patients (False for detectors that
    #: already judge the user's whole pattern: volume, focus, spread, after hours)
    per_patient: bool = True
    #: whether a hit is a personal tie between the user and the patient (self, family,
    #: household, neighbour, co-worker): the alert page lists these as relationships found
    relationship: bool = False
    #: for a common attribute whose chance differs per user (a surname's frequency):
    #: user -> the share of patients that have it for that user
    chance: Callable[[Inputs], dict[str, float]] | None = None


def signal(
    table: ir.Table,
    user: ir.Value,
    patient: ir.Value,
    detail: ir.Value | str,
    factor: ir.Value | float = 1.0,
) -> ir.Table:
    """Project a detector's rows onto the signal columns, one row per (user, patient)."""
    f = factor if isinstance(factor, ir.Value) else ibis.literal(float(factor))
    d = detail if isinstance(detail, ir.Value) else ibis.literal(detail)
    rows = table.select(
        user_id=user.cast("string"),
        patient_id=patient.cast("string"),
        factor=f.cast("float64"),
        detail=d.cast("string"),
    )
    return rows.group_by(["user_id", "patient_id"]).aggregate(
        factor=rows.factor.max(), detail=rows.detail.min()
    )


def text(*parts: ir.Value | str) -> ir.StringValue:
    """Concatenate literals and columns (nulls shown as '?') into one string."""
    out: ir.StringValue = ibis.literal("")
    for part in parts:
        value = ibis.literal(part) if isinstance(part, str) else part.cast("string").fill_null("?")
        out = out + value
    return out


def with_people(inputs: Inputs) -> ir.Table:
    """Unexplained pairs joined to the user's and the patient's demographics.

    Columns: the pair's (user_id, patient_id, accesses, first, last, btg) plus ``u_*``
    (workforce) and ``p_*`` (patient) columns.
    """
    p, w, pt = inputs.pairs, inputs.workforce, inputs.patients
    wu = w.rename({f"u_{c}": c for c in w.columns})
    pp = pt.rename({f"p_{c}": c for c in pt.columns})
    j = p.join(wu, p.user_id == wu.u_user_id).join(pp, p.patient_id == pp.p_patient_id)
    return j


#: Department kinds that keep office hours: a user there with no recorded shift works the
#: facility's office hours (``office_start_hour``..``office_end_hour``). Care runs round
#: the clock, so a clinical user with no shift is not judged on hours at all.
OFFICE_KINDS = ("registration", "billing", "coding", "call_center", "him", "it", "admin")


def with_off_shift(openings: ir.Table, ctx: Context) -> ir.Table:
    """Openings of users with a shift, with ``s``, ``e`` (shift hours) and ``off``.

    ``off`` is true an hour or more outside the user's own shift; night shifts wrap
    midnight (start 19, end 7). A user of an office department with no recorded shift
    works the configured office hours; any other user with no recorded shift works the
    hours learned from their own openings (``monitor.shifts``), when they can be.
    """
    c, w, d = ctx.config, ctx["workforce"], ctx["departments"]
    office = d.filter(d.kind.isin(OFFICE_KINDS)).select(od=d.department_id)
    w = w.left_join(office, w.department_id == office.od)

    def hour(recorded: ir.IntegerColumn, office_hour: int) -> ir.IntegerColumn:
        default = w.od.notnull().ifelse(ibis.literal(office_hour, "int64"), ibis.null("int64"))
        return recorded.fill_null(default)

    w = w.select(
        user_id=w.user_id,
        shift_start_hour=hour(w.shift_start_hour, c.office_start_hour),
        shift_end_hour=hour(w.shift_end_hour, c.office_end_hour),
    )
    known = w.shift_start_hour.notnull() & w.shift_end_hour.notnull()
    shift = w.filter(known).select(uid=w.user_id, s=w.shift_start_hour, e=w.shift_end_hour)
    learned = learned_shifts(ctx)
    shift = shift.union(learned.anti_join(shift, learned.uid == shift.uid).select("uid", "s", "e"))
    j = openings.join(shift, openings.user_id == shift.uid)
    hour = j.first.hour().cast("int64")
    length = ((j.e - j.s + 24) % 24).nullif(0).fill_null(24)
    offset = (hour - j.s + 24) % 24
    # an hour of grace on either side of the shift
    return j.mutate(off=(offset >= length + 1) & (offset < 23))
