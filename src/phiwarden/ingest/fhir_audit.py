"""AuditEvent NDJSON lines to access events, columnar, with DuckDB's JSON functions.

Audit logs run to millions of events, far too many for one pydantic model each (about
1.5k/s against several hundred thousand per second here), so a batch of lines goes to
DuckDB as one Arrow column and comes back as canonical columns. Two queries:

- **fast**: one parse per line pulling fixed paths (first agent, first entity, first two
  subtypes ...), which is exact whenever those lists are that short, as in the export;
- **generic**: ``json_transform`` of the whole structure with list searches, for the
  rows the fast query flags as irregular (several agents or entities, more subtypes).

Mapping (REFERENCE.md section 4, inverting ``synth.fhir_audit``): ``id`` is the event id;
``recorded`` without its zone designator the time; the user is the requestor agent (the
first agent with ``requestor`` true, else the first), from a Practitioner or
PractitionerRole ``who`` reference, else ``who.identifier.value``; the patient is the first
entity whose ``what`` references a Patient, else a top-level ``patient`` reference; the
action is the ``urn:phiwarden:access-action`` subtype when present, else C/R/U/D/E as
create/view/update/delete/execute; break-the-glass is subtype code 110127 (DCM
"Emergency Override Started") or an ETREAT coding in ``purposeOfEvent`` or the requestor's
``purposeOfUse``, whose text (else the purposeOfEvent text) is the reason; workstation is
the requestor's network address, department the ``source.site``, source system the
observer's display (else identifier; the export's ``unknown`` is read as empty). The
``outcome`` code (0 success, 4/8/12 failure) becomes the event's outcome, so failed
attempts load as access events too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.formats.fhir_codes import ACTION_SYSTEM

#: Canonical access-event columns produced here (outcome as the FHIR code; the loader
#: normalises it).
COLUMNS = (
    "event_id",
    "ts",
    "user_id",
    "patient_id",
    "action",
    "source_system",
    "workstation",
    "department_id",
    "break_the_glass",
    "btg_reason",
    "outcome",
)
_ZONE = "(Z|[+-][0-9]{2}:[0-9]{2})$"
_USER = "(?:^|/)(Practitioner|PractitionerRole)/([^/]+)(?:/_history/[^/]+)?$"
_PATIENT = "(?:^|/)Patient/([^/]+)(?:/_history/[^/]+)?$"
_BTG, _ETREAT = "110127", "ETREAT"
_PATHS = {
    "id": "$.id",
    "recorded": "$.recorded",
    "action": "$.action",
    "outcome": "$.outcome",
    "who": "$.agent[0].who.reference",
    "who_id": "$.agent[0].who.identifier.value",
    "network": "$.agent[0].network.address",
    "pou_code": "$.agent[0].purposeOfUse[0].coding[0].code",
    "pou_text": "$.agent[0].purposeOfUse[0].text",
    "what": "$.entity[0].what.reference",
    "patient": "$.patient.reference",
    "sub0_system": "$.subtype[0].system",
    "sub0_code": "$.subtype[0].code",
    "sub1_system": "$.subtype[1].system",
    "sub1_code": "$.subtype[1].code",
    "poe_code": "$.purposeOfEvent[0].coding[0].code",
    "poe_text": "$.purposeOfEvent[0].text",
    "site": "$.source.site",
    "observer": "$.source.observer.display",
    "observer_id": "$.source.observer.identifier.value",
    # Any of these present means the fixed paths above may miss something.
    "agent1": "$.agent[1]",
    "entity1": "$.entity[1]",
    "sub2": "$.subtype[2]",
    "poe1": "$.purposeOfEvent[1]",
    "poe_coding1": "$.purposeOfEvent[0].coding[1]",
    "pou1": "$.agent[0].purposeOfUse[1]",
    "pou_coding1": "$.agent[0].purposeOfUse[0].coding[1]",
}
_IRREGULAR = ("agent1", "entity1", "sub2", "poe1", "poe_coding1", "pou1", "pou_coding1")
_SLOT = {name: f"v[{i + 1}]" for i, name in enumerate(_PATHS)}


def _letter(expr: str) -> str:
    return (
        f"CASE {expr} WHEN 'C' THEN 'create' WHEN 'R' THEN 'view' WHEN 'U' THEN 'update' "
        f"WHEN 'D' THEN 'delete' WHEN 'E' THEN 'execute' END"
    )


def _simple(expr: str, kind: str) -> str:
    """SQL: ``expr`` is exactly ``<kind>/<id>`` (answered without a regular expression)."""
    n = len(kind) + 2
    return (
        f"(starts_with({expr}, '{kind}/') AND length({expr}) >= {n} "
        f"AND strpos(substr({expr}, {n}), '/') = 0)"
    )


def _after(expr: str, kind: str) -> str:
    return f"substr({expr}, {len(kind) + 2})"


def _fast_sql() -> str:
    v = _SLOT
    paths = ", ".join(f"'{p}'" for p in _PATHS.values())
    action = " ".join(
        f"CASE WHEN {v[f'sub{i}_system']} = '{ACTION_SYSTEM}' THEN {v[f'sub{i}_code']} END,"
        for i in (0, 1)
    )
    btg = " OR ".join(
        [
            f"{v['sub0_code']} = '{_BTG}'",
            f"{v['sub1_code']} = '{_BTG}'",
            f"{v['poe_code']} = '{_ETREAT}'",
            f"{v['pou_code']} = '{_ETREAT}'",
        ]
    )
    irregular = " OR ".join(f"{v[k]} IS NOT NULL" for k in _IRREGULAR)
    user_re = f"regexp_extract({v['who']}, '{_USER}'"
    practitioner = _simple(v["who"], "Practitioner")
    return f"""
SELECT row_ref, {v["id"]} AS event_id,
  CASE WHEN ends_with({v["recorded"]}, 'Z') THEN left({v["recorded"]}, -1)
       ELSE regexp_replace({v["recorded"]}, '{_ZONE}', '') END AS ts,
  CASE WHEN {practitioner} THEN 'Practitioner' ELSE {user_re}, 1) END AS user_kind,
  CASE WHEN {practitioner} THEN {_after(v["who"], "Practitioner")}
       ELSE coalesce(nullif({user_re}, 2), ''), {v["who_id"]}) END AS user_id,
  CASE WHEN {_simple(v["what"], "Patient")} THEN {_after(v["what"], "Patient")}
       ELSE coalesce(nullif(regexp_extract({v["what"]}, '{_PATIENT}', 1), ''),
                     nullif(regexp_extract({v["patient"]}, '{_PATIENT}', 1), '')) END
    AS patient_id,
  coalesce({action} {_letter(v["action"])}) AS action,
  nullif(coalesce({v["observer"]}, {v["observer_id"]}), 'unknown') AS source_system,
  {v["network"]} AS workstation, {v["site"]} AS department_id,
  coalesce({btg}, false) AS break_the_glass,
  coalesce({v["pou_text"]}, {v["poe_text"]}) AS btg_reason, {v["outcome"]} AS outcome,
  ({irregular}) AS irregular
FROM (SELECT row_ref, json_extract_string(line, [{paths}]) AS v FROM lines)"""


def _structure() -> str:
    coding = {"system": "VARCHAR", "code": "VARCHAR"}
    concept = {"coding": [coding], "text": "VARCHAR"}
    return json.dumps(
        {
            "id": "VARCHAR",
            "recorded": "VARCHAR",
            "action": "VARCHAR",
            "outcome": "VARCHAR",
            "subtype": [coding],
            "purposeOfEvent": [concept],
            "agent": [
                {
                    "who": {"reference": "VARCHAR", "identifier": {"value": "VARCHAR"}},
                    "requestor": "BOOLEAN",
                    "network": {"address": "VARCHAR"},
                    "purposeOfUse": [concept],
                }
            ],
            "source": {
                "site": "VARCHAR",
                "observer": {"display": "VARCHAR", "identifier": {"value": "VARCHAR"}},
            },
            "entity": [{"what": {"reference": "VARCHAR"}}],
            "patient": {"reference": "VARCHAR"},
        },
        separators=(",", ":"),
    )


def _generic_sql() -> str:
    def has_code(concepts: str, code: str) -> str:
        return (
            f"coalesce(len(list_filter({concepts}, lambda c: "
            f"len(list_filter(c.coding, lambda k: k.code = '{code}')) > 0)) > 0, false)"
        )

    return f"""
WITH p AS (SELECT row_ref, json_transform(line, '{_structure()}') AS r FROM lines),
q AS (SELECT row_ref, r,
             coalesce(list_filter(r.agent, lambda a: a.requestor)[1], r.agent[1]) AS ag FROM p)
SELECT row_ref, r.id AS event_id, regexp_replace(r.recorded, '{_ZONE}', '') AS ts,
  regexp_extract(ag.who.reference, '{_USER}', 1) AS user_kind,
  coalesce(nullif(regexp_extract(ag.who.reference, '{_USER}', 2), ''),
           ag.who.identifier.value) AS user_id,
  coalesce(list_filter(list_transform(r.entity, lambda e:
             nullif(regexp_extract(e.what.reference, '{_PATIENT}', 1), '')),
           lambda x: x IS NOT NULL)[1],
           nullif(regexp_extract(r.patient.reference, '{_PATIENT}', 1), '')) AS patient_id,
  coalesce(list_filter(r.subtype, lambda s: s.system = '{ACTION_SYSTEM}'
           AND s.code IS NOT NULL)[1].code, {_letter("r.action")}) AS action,
  nullif(coalesce(r.source.observer.display, r.source.observer.identifier.value),
         'unknown') AS source_system,
  ag.network.address AS workstation, r.source.site AS department_id,
  (coalesce(len(list_filter(r.subtype, lambda s: s.code = '{_BTG}')) > 0, false)
   OR {has_code("r.purposeOfEvent", _ETREAT)} OR {has_code("ag.purposeOfUse", _ETREAT)})
   AS break_the_glass,
  coalesce(list_filter(ag.purposeOfUse, lambda c: c.text IS NOT NULL)[1].text,
           list_filter(r.purposeOfEvent, lambda c: c.text IS NOT NULL)[1].text) AS btg_reason,
  r.outcome AS outcome
FROM q"""


FAST_SQL = _fast_sql()
GENERIC_SQL = _generic_sql()


@dataclass(frozen=True)
class Extracted:
    """Access-event columns for the readable lines and the lines that were not readable.

    ``refs`` gives, per row of ``table``, the reference the caller passed for its line
    (a line number or an entry index); ``rejected`` lists ``(ref, reason)``.
    """

    table: pa.Table
    refs: np.ndarray
    user_kinds: pa.Array
    rejected: list[tuple[int, str]]


class AuditExtractor:
    """One DuckDB connection turning batches of AuditEvent lines into access events."""

    def __init__(self) -> None:
        self.con = duckdb.connect()

    def close(self) -> None:
        """Release the DuckDB connection."""
        self.con.close()

    def query(self, sql: str, lines: pa.Table) -> pa.Table:
        """Run ``sql`` over ``lines`` (a table of ``row_ref`` and ``line``) as an Arrow table."""
        self.con.register("lines", lines)
        try:
            return self.con.sql(sql).to_arrow_table()
        finally:
            self.con.unregister("lines")

    def _run(self, lines: pa.Table) -> pa.Table:
        fast = self.query(FAST_SQL, lines)
        irregular = fast.column("irregular").combine_chunks().fill_null(False)
        fast = fast.drop_columns(["irregular"])
        if not pc.any(irregular).as_py():
            return fast
        refs = fast.column("row_ref").filter(irregular)
        generic = self.query(GENERIC_SQL, lines.filter(pc.is_in(lines["row_ref"], refs)))
        regular = fast.filter(pc.invert(irregular))
        return pa.concat_tables(
            [regular, generic.select(regular.column_names).cast(regular.schema)]
        )

    def _careful(self, lines: pa.Table) -> tuple[pa.Table | None, list[tuple[int, str]]]:
        """Find the lines DuckDB cannot read, reject them, and extract the rest."""
        valid = self.query("SELECT json_valid(line) AS ok FROM lines", lines)
        ok = valid.column("ok").combine_chunks().fill_null(False)
        bad = lines.column("row_ref").filter(pc.invert(ok)).to_pylist()
        rejected = [(int(ref), "malformed JSON") for ref in bad]
        tables: list[pa.Table] = []
        pending = [lines.filter(ok)]
        while pending:
            part = pending.pop()
            if part.num_rows == 0:
                continue
            try:
                tables.append(self._run(part))
            except duckdb.Error as exc:
                if part.num_rows == 1:
                    ref = int(part.column("row_ref")[0].as_py())
                    rejected.append((ref, f"AuditEvent cannot be read ({type(exc).__name__})"))
                else:
                    half = part.num_rows // 2
                    pending += [part.slice(0, half), part.slice(half)]
        return (pa.concat_tables(tables) if tables else None), rejected

    def extract(self, lines: pa.Array, refs: np.ndarray) -> Extracted:
        """Access-event columns for AuditEvent JSON ``lines`` (one resource per value)."""
        text = lines.type in (pa.string(), pa.large_string())
        batch = pa.table(
            {
                "row_ref": pa.array(refs, pa.int64()),
                "line": lines if text else lines.cast(pa.string()),
            }
        )
        rejected: list[tuple[int, str]] = []
        try:
            out: pa.Table | None = self._run(batch)
        except duckdb.Error:
            out, rejected = self._careful(batch)
        if out is None or out.num_rows == 0:
            empty = pa.table({c: pa.array([], pa.string()) for c in COLUMNS})
            return Extracted(empty, np.zeros(0, np.int64), pa.array([], pa.string()), rejected)
        columns = {}
        for name in COLUMNS:
            col = out.column(name).combine_chunks()
            kind = pa.bool_() if name == "break_the_glass" else pa.string()
            columns[name] = col if col.type == kind else col.cast(kind)
        kinds = out.column("user_kind").combine_chunks().cast(pa.string())
        row_refs = out.column("row_ref").combine_chunks().cast(pa.int64())
        return Extracted(pa.table(columns), row_refs.to_numpy(), kinds, rejected)


def remap_role_users(
    table: pa.Table, kinds: pa.Array, role_practitioner: dict[str, str]
) -> pa.Table:
    """Replace user ids taken from PractitionerRole references by their Practitioner."""
    renamed = {k: v for k, v in role_practitioner.items() if k != v}
    if not renamed or table.num_rows == 0:
        return table
    users = table.column("user_id").combine_chunks()
    index = pc.index_in(users, pa.array(list(renamed), pa.string()))
    mapped = pc.take(pa.array(list(renamed.values()), pa.string()), index)
    use = pc.and_(pc.equal(kinds, "PractitionerRole"), pc.is_valid(index)).fill_null(False)
    position = table.column_names.index("user_id")
    return table.set_column(position, "user_id", pc.if_else(use, mapped, users))
