"""Export the hospital's access events as an Epic-style access-log CSV, one file per day.

``access_log_YYYYMMDD.csv`` holds the columns an Epic-style audit export has (REFERENCE
section 4): when, which metric (and its group and action), from which workstation, which
patient (MRN, name, address, city, ZIP: what a privacy analyst sees), which department,
break-the-glass reason and explanation, and the user's login and id. There is no event id
column, as in the real export. Reading it back with ``mappings/epic.toml`` gives the same
events (time, user, patient, action, workstation, department, break-the-glass) as the
canonical lake; only the event ids differ (derived from row content).

Everything is built with Arrow ``take`` on small dictionaries, so ten million events never
become Python objects; output is deterministic for a given canonical folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from phiwarden.domain import canonical as c
from phiwarden.synth.export_io import load_table

#: canonical action -> (METRIC_NAME, METRIC_GROUP, ACCESS_ACTION); view has two metrics.
METRICS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "view": (
        ("Chart Review Accessed", "Chart Review", "View"),
        ("Results Review Accessed", "Results Review", "View"),
    ),
    "create": (("Note Created", "Notes", "Create"),),
    "update": (("Flowsheet Data Edited", "Flowsheets", "Modify"),),
    "delete": (("Note Deleted", "Notes", "Delete"),),
    "print": (("Report Printed", "Reports", "Print"),),
    "execute": (("Report Run", "Reports", "Execute"),),
    "search": (("Patient Lookup Performed", "Patient Search", "Search"),),
}
HEADER = (
    "ACCESS_TIME",
    "METRIC_NAME",
    "METRIC_GROUP",
    "ACCESS_ACTION",
    "WORKSTATION_ID",
    "PAT_MRN_ID",
    "PAT_FIRST_NAME",
    "PAT_LAST_NAME",
    "PAT_ADDR_LINE",
    "PAT_CITY",
    "PAT_ZIP",
    "DEPARTMENT_ID",
    "DEPARTMENT_NAME",
    "BTG_REASON",
    "BTG_EXPLANATION",
    "USER_LOGIN",
    "USER_ID",
)


def _event_files(canonical_dir: Path) -> list[Path]:
    root = canonical_dir / c.ACCESS_EVENTS.name
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.parquet") if not p.name.startswith((".", "_")))


def _read_events(canonical_dir: Path) -> pa.Table:
    files = _event_files(canonical_dir)
    single = canonical_dir / f"{c.ACCESS_EVENTS.name}.csv"
    if files:
        tables = [pq.read_table(p, columns=c.ACCESS_EVENTS.schema.names) for p in files]
        return pa.concat_tables([t.cast(c.ACCESS_EVENTS.schema) for t in tables])
    if single.is_file():
        return load_table(canonical_dir, c.ACCESS_EVENTS)
    return c.ACCESS_EVENTS.schema.empty_table()


def _metric_columns(events: pa.Table) -> list[pa.Array]:
    """METRIC_NAME, METRIC_GROUP, ACCESS_ACTION from the action (view alternates metrics)."""
    names: list[str] = []
    groups: list[str] = []
    verbs: list[str] = []
    codes: dict[str, int] = {}
    first_of: dict[str, int] = {}
    for action, metrics in METRICS.items():
        first_of[action] = len(names)
        codes[action] = len(metrics)
        for name, group, verb in metrics:
            names.append(name)
            groups.append(group)
            verbs.append(verb)
    actions = pa.array(list(METRICS))
    idx = pc.index_in(events.column("action"), value_set=actions).to_numpy(zero_copy_only=False)
    idx = np.nan_to_num(idx, nan=0).astype(np.int64)  # an unknown action exports as a view
    first = np.array([first_of[a] for a in METRICS])[idx]
    count = np.array([codes[a] for a in METRICS])[idx]
    seconds = pc.cast(events.column("ts"), pa.int64()).to_numpy(zero_copy_only=False) // 1_000_000
    pick = pa.array(first + seconds % count)
    return [pa.array(x).take(pick) for x in (names, groups, verbs)]


def _lookup(keys: pa.ChunkedArray, table: pa.Table, key: str, columns: list[str]) -> list[pa.Array]:
    idx = pc.index_in(keys, value_set=table.column(key))
    return [table.column(col).combine_chunks().take(idx) for col in columns]


def export_table(
    events: pa.Table, patients: pa.Table, workforce: pa.Table, departments: pa.Table
) -> pa.Table:
    """The Epic-style columns of ``events`` (rows in the same order)."""
    ts = events.column("ts")
    micros = pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False)
    # Arrow's cast writes "YYYY-MM-DD HH:MM:SS" (with the fraction when there is one)
    when = pc.cast(ts if np.any(micros % 1_000_000) else ts.cast(pa.timestamp("s")), pa.string())
    metric, group, verb = _metric_columns(events)
    mrn, first, last, addr, city, zip_ = _lookup(
        events.column("patient_id"),
        patients,
        "patient_id",
        ["mrn", "first_name", "last_name", "address_line", "city", "zip"],
    )
    (login,) = _lookup(events.column("user_id"), workforce, "user_id", ["login"])
    (dept_name,) = _lookup(events.column("department_id"), departments, "department_id", ["name"])
    btg = pc.fill_null(events.column("break_the_glass"), False)
    reason = pc.if_else(btg, events.column("btg_reason"), pa.scalar(None, pa.string()))
    reason = pc.replace_substring_regex(reason, r"[\r\n]+", " ")  # one line per event
    columns = [
        when,
        metric,
        group,
        verb,
        events.column("workstation"),
        mrn,
        first,
        last,
        addr,
        city,
        zip_,
        events.column("department_id"),
        dept_name,
        reason,
        pa.nulls(events.num_rows, pa.string()),
        login,
        events.column("user_id"),
    ]
    return pa.table(columns, names=list(HEADER))


def write_access_log(canonical_dir: Path, out_dir: Path) -> int:
    """Write ``access_log_YYYYMMDD.csv`` per day of the canonical access events; return rows."""
    out_dir.mkdir(parents=True, exist_ok=True)
    events = _read_events(canonical_dir)
    if events.num_rows == 0:
        return 0
    events = events.take(pc.sort_indices(events, [("ts", "ascending"), ("event_id", "ascending")]))
    patients = load_table(canonical_dir, c.PATIENTS)
    workforce = load_table(canonical_dir, c.WORKFORCE)
    departments = load_table(canonical_dir, c.DEPARTMENTS)
    micros = pc.cast(events.column("ts"), pa.int64()).to_numpy(zero_copy_only=False)
    days = micros // 86_400_000_000
    edges = np.flatnonzero(np.diff(days)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.append(edges, len(days))
    for lo, hi in zip(starts, ends, strict=True):
        day = np.datetime64(int(days[lo]), "D").astype(object)
        part = export_table(events.slice(lo, hi - lo), patients, workforce, departments)
        pacsv.write_csv(
            part,
            out_dir / f"access_log_{day:%Y%m%d}.csv",
            pacsv.WriteOptions(quoting_style="needed"),
        )
    return int(events.num_rows)
