"""Turn one batch of export rows into canonical access events, or reasons to reject them.

The store's dictionaries (login -> user_id, MRN -> patient_id, department names) are read
once per ingest into :class:`~phiwarden.ingest.access_log_resolve.Lookup` objects; a batch
is then mapped with a handful of Arrow kernels. Rows that cannot become an event (no
parsable time, unknown MRN or login, unmapped action) come back with a reason naming the
source column and value, for the quarantine; only those rows are touched in Python.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, select

from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.domain.enums import AccessAction
from phiwarden.formats import outcome
from phiwarden.ingest.access_log_mapping import Mapping
from phiwarden.ingest.access_log_resolve import (
    Lookup,
    combine,
    hex_ids,
    number_repeats,
    parse_timestamps,
    ts_hashes,
)
from phiwarden.ingest.validate import one_array
from phiwarden.store.repositories import domain_table

_ACTIONS = {a.value: a.value for a in AccessAction}
BTG_SEPARATOR = " - "


def show(value: object, limit: int = 40) -> str:
    """A value as quoted in a reason: printable, short."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


@dataclass
class Resolvers:
    """Everything a batch needs from the store and the mapping, shared by reader threads."""

    users: Lookup
    patients: Lookup
    actions: Lookup
    departments: Lookup
    free: dict[str, Lookup] = field(default_factory=dict)
    ambiguous_mrns: frozenset[str] = frozenset()


def _casefold_resolver(
    table: dict[str, str], fallback: str | None = None
) -> Callable[[str], str | None]:
    folded = {k.strip().casefold(): v for k, v in table.items()}
    return lambda v: folded.get(v.strip().casefold(), fallback)


#: Id prefixes of a login or an MRN the directory does not hold: the access still loads
#: (an unknown account is itself a monitoring signal) and is counted as a directory gap.
UNKNOWN_LOGIN = "login:"
UNKNOWN_MRN = "mrn:"


def _unknown_as(prefix: str, value: str) -> str | None:
    return prefix + value.strip() if value.strip() else None


def _stripped(value: str) -> str | None:
    return value.strip() or None


def build_resolvers(engine: Engine, mapping: Mapping) -> Resolvers:
    """Read the dictionaries the mapping needs from the operational store."""
    workforce, patients = domain_table("workforce"), domain_table("patients")
    merges, departments = domain_table("patient_merges"), domain_table("departments")
    with engine.connect() as conn:
        users = conn.execute(select(workforce.c.login, workforce.c.user_id)).all()
        pats = conn.execute(select(patients.c.mrn, patients.c.patient_id)).all()
        merged = conn.execute(select(merges.c.merged_mrn, merges.c.surviving_patient_id)).all()
        depts = conn.execute(select(departments.c.name, departments.c.department_id)).all()
    user_map: dict[str, str] = {}
    for how in mapping.user_match:
        for login, uid in users:
            key = login if how == "login" else uid
            if key is not None:
                user_map.setdefault(key, uid)
    counts = Counter(m for m, _ in pats if m is not None)
    ambiguous = frozenset(m for m, n in counts.items() if n > 1)
    patient_map: dict[str, str] = {}
    for how in mapping.patient_match:
        if how == "mrn":
            for mrn, pid in pats:
                if mrn is not None and mrn not in ambiguous:
                    patient_map.setdefault(mrn, pid)
            for mrn, pid in merged:  # a retired MRN names the chart it was merged into
                if mrn is not None and mrn not in ambiguous:
                    patient_map.setdefault(mrn, pid)
        else:
            for _, pid in pats:
                patient_map.setdefault(pid, pid)
    actions = {**_ACTIONS, **mapping.action_values} if mapping.action_values else _ACTIONS
    by_name = {name: did for name, did in depts if name is not None}
    btg_true = mapping.btg_true
    failures = frozenset(outcome.FAILURE_CODES) | mapping.failure_values
    return Resolvers(
        users=Lookup(lambda v: user_map.get(v.strip()) or _unknown_as(UNKNOWN_LOGIN, v), user_map),
        patients=Lookup(
            lambda v: (
                patient_map.get(v.strip())
                or (None if v.strip() in ambiguous else _unknown_as(UNKNOWN_MRN, v))
            ),
            patient_map,
        ),
        actions=Lookup(_casefold_resolver(actions, mapping.action_default), mapping.action_values),
        departments=Lookup(
            _casefold_resolver(by_name) if mapping.department_by_name else _stripped
        ),
        free={
            "workstation": Lookup(_stripped),
            "btg_reason": Lookup(_stripped),
            "btg_flag": Lookup(lambda v: "1" if v.strip().upper() in btg_true else "0"),
            "outcome": Lookup(
                lambda v: outcome.FAILURE if v.strip().upper() in failures else outcome.SUCCESS
            ),
        },
        ambiguous_mrns=ambiguous,
    )


@dataclass(frozen=True)
class MappedBatch:
    """Canonical events of the good rows, their row numbers in the batch, and rejections."""

    events: pa.Table
    kept: npt.NDArray[np.int64]
    rejected: list[tuple[int, str]]
    #: event column -> (lookup targets, position of each event's value among them)
    references: dict[str, tuple[pa.Array, pa.Array]] = field(default_factory=dict)


class _Checks:
    """Per-row problems in the order they are reported; the first one names the reason.

    Masks stay Arrow arrays; they become numpy only when some row actually fails.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.masks: list[tuple[pa.Array, Callable[[int], str]]] = []

    def add(self, mask: pa.Array, reason: Callable[[int], str]) -> None:
        if pc.any(mask).as_py():
            self.masks.append((pc.fill_null(mask, False), reason))

    def failing(self) -> npt.NDArray[np.bool_]:
        out = np.zeros(self.n, dtype=bool)
        for mask, _ in self.masks:
            out |= mask.to_numpy(zero_copy_only=False)
        return out

    def reason(self, row: int) -> str:
        return next(reason(row) for mask, reason in self.masks if mask[row].as_py())


def _joined(raw: pa.Table, columns: tuple[str, ...], separator: str = BTG_SEPARATOR) -> pa.Array:
    """One column, or several joined with ``separator`` skipping empty ones."""
    joined = one_array(raw.column(columns[0]))
    for name in columns[1:]:  # (pyarrow 26's null_handling="skip" drops all-null rows)
        part = one_array(raw.column(name))
        joined = pc.coalesce(pc.binary_join_element_wise(joined, part, separator), joined, part)
    return joined


def _blank_rows(raw: pa.Table, ts: pa.Array) -> npt.NDArray[np.bool_]:
    """Rows with no value at all (blank lines): skipped, not quarantined."""
    blank = np.zeros(raw.num_rows, dtype=bool)
    if ts.null_count == 0:
        return blank
    blank = np.asarray(pc.is_null(ts).to_numpy(zero_copy_only=False), dtype=bool)
    for name in raw.column_names:
        blank &= np.asarray(pc.is_null(raw.column(name)).to_numpy(zero_copy_only=False), dtype=bool)
    return blank


def map_batch(
    raw: pa.Table, bad_text: npt.NDArray[np.bool_], mapping: Mapping, res: Resolvers
) -> MappedBatch:
    """Map raw text columns (source names) to canonical events; reject what cannot map."""
    n = raw.num_rows
    # a date and a time in two columns (Meditech) are one timestamp "date time"
    col = {
        name: _joined(raw, cols, " " if name == "ts" else BTG_SEPARATOR)
        for name, cols in mapping.columns.items()
    }
    checks = _Checks(n)
    checks.add(pa.array(bad_text), lambda _r: "not valid text in the file's encoding")

    def value(name: str) -> Callable[[int], str]:
        return lambda r: show(col[name][r].as_py())

    ts = parse_timestamps(col["ts"], mapping.timestamp_formats)
    formats = ", ".join(mapping.timestamp_formats)
    checks.add(pc.is_null(col["ts"]), _missing(mapping, "ts"))
    checks.add(
        pc.is_null(ts),
        lambda r: (
            f"{mapping.describe('ts')} {value('ts')(r)} matches no timestamp format ({formats})"
        ),
    )
    parts = [ts_hashes(ts)]
    targets: dict[str, pa.Array] = {}
    positions: dict[str, tuple[pa.Array, pa.Array]] = {}
    for name, lookup in (("user", res.users), ("patient", res.patients), ("action", res.actions)):
        idx = lookup.index(col[name])
        table = lookup.target_table()
        targets[name] = table.take(idx)
        positions[name] = (table, idx)
        parts.append(lookup.hashes(idx))
        checks.add(pc.is_null(col[name]), _missing(mapping, name))
        checks.add(pc.is_null(targets[name]), _unknown_reason(mapping, res, name, col[name]))
    for name in ("workstation", "btg_reason", "btg_flag", "department", "outcome"):
        if name in col:
            lookup = res.departments if name == "department" else res.free[name]
            idx = lookup.index(col[name])
            targets[name] = lookup.targets(idx) if name != "workstation" else col[name]
            parts.append(lookup.hashes(idx))
    if "event_id" in col:
        checks.add(
            pc.is_null(col["event_id"]), lambda _r: f"missing {mapping.describe('event_id')}"
        )
    blank = _blank_rows(raw, col["ts"])
    failing = checks.failing() if checks.masks else np.zeros(n, dtype=bool)
    rejected = [(int(r), checks.reason(int(r))) for r in np.flatnonzero(failing & ~blank)]
    drop = failing | blank
    kept = np.flatnonzero(~drop)

    def pick(values: pa.Array) -> pa.Array:
        return values.take(pa.array(kept)) if drop.any() else values

    btg_reason = pick(targets.get("btg_reason", pa.nulls(n, pa.string())))
    if "btg_flag" in targets:
        btg = pc.fill_null(pc.equal(pick(targets["btg_flag"]), "1"), False)
    else:
        btg = pc.is_valid(btg_reason)
    if "event_id" in col:
        event_id = pick(col["event_id"])
    else:
        hashes = combine(parts)[kept] if drop.any() else combine(parts)
        event_id = number_repeats(hex_ids(mapping.event_id_prefix, hashes), hashes)
    events = pa.table(
        {
            "event_id": event_id,
            "ts": pick(ts),
            "user_id": pick(targets["user"]),
            "patient_id": pick(targets["patient"]),
            "action": pick(targets["action"]),
            "source_system": pa.repeat(pa.scalar(mapping.source_system, pa.string()), len(kept)),
            "workstation": pick(targets.get("workstation", pa.nulls(n, pa.string()))),
            "department_id": pick(targets.get("department", pa.nulls(n, pa.string()))),
            "break_the_glass": btg,
            "btg_reason": btg_reason,
            "outcome": pick(targets.get("outcome", pa.nulls(n, pa.string()))),
        },
        schema=ACCESS_EVENTS.schema,
    )
    references = {
        f"{name}_id": (table, pick(idx))
        for name, (table, idx) in positions.items()
        if name != "action"
    }
    return MappedBatch(events, kept.astype(np.int64), rejected, references)


def _missing(mapping: Mapping, name: str) -> Callable[[int], str]:
    text = f"missing {mapping.describe(name)}"
    return lambda _row: text


def _unknown_reason(
    mapping: Mapping, res: Resolvers, name: str, values: pa.Array
) -> Callable[[int], str]:
    return lambda row: _unknown(mapping, res, name, values[row].as_py())


def _unknown(mapping: Mapping, res: Resolvers, name: str, value: object) -> str:
    where = mapping.describe(name)
    if isinstance(value, str) and not value.strip():
        return f"missing {where}"
    if name == "action":
        return (
            f"{where} {show(value)} is not mapped: add it to [action.values] of {mapping.path.name}"
        )
    if name == "patient" and isinstance(value, str) and value.strip() in res.ambiguous_mrns:
        return f"{where} {show(value)} is shared by several patients"
    how = " or ".join(mapping.user_match if name == "user" else mapping.patient_match)
    who = "workforce member" if name == "user" else "patient"
    return f"unknown {name} {show(value)} in {where}: no {who} with this {how}"
