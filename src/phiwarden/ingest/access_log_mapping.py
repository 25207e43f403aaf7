"""Mapping files: how an EHR's access-log CSV export maps onto canonical access events.

A mapping is a small TOML file (read with the standard library's ``tomllib``), so a hospital
whose EHR writes other column names loads its export by writing a mapping, not code. The
bundled ``mappings/epic.toml`` (Epic-style export) and ``mappings/generic.toml`` document
every key; in short::

    name = "epic"                       # shown in messages
    source_system = "epic"              # written to access_events.source_system
    event_id_prefix = "EPIC-"           # prefix of the ids derived from row content

    [csv]                               # all optional
    delimiter = ","
    encoding = "utf-8"                  # any Python codec name
    quote_char = '"'                    # "" for none
    newlines_in_values = false          # true if quoted values span lines (slower)
    files = "access_log_*.csv"          # which files of a folder to read

    [columns]                           # canonical field = source column
    ts = "ACCESS_TIME"                  # required: ts (or [date, time] columns), user,
    user = "USER_LOGIN"                 #   patient, action
    patient = "PAT_MRN_ID"
    action = "METRIC_NAME"
    workstation = "WORKSTATION_ID"      # optional: workstation, department, btg_flag,
    department = "DEPARTMENT_ID"        #   btg_reason (one column or a list, joined),
    btg_reason = ["BTG_REASON", "BTG_EXPLANATION"]   # event_id, outcome
    [timestamp]
    formats = ["ISO8601", "%m/%d/%Y %H:%M:%S"]      # tried in order; ISO8601 is the fastest
    [user]
    match = ["login"]                   # login -> workforce.user_id; "user_id": value is the id
    [patient]
    match = ["mrn"]                     # mrn -> patients.patient_id; "patient_id": value is the id
    [department]
    match = "department_id"             # or "name" (department name -> department_id)
    [action]
    default = "view"                    # optional: action of values not listed below
    [action.values]                     # source value = canonical action (case-insensitive)
    "Chart Review Accessed" = "view"
    [btg_flag]
    true_values = ["Y", "YES", "1", "TRUE"]   # case-insensitive; other values are false
    [outcome]
    failure_values = ["DENIED"]         # added to the standard failure words and codes

Without ``btg_flag`` a row is break-the-glass when its reason is filled. Without
``[action.values]`` the action column must hold canonical action names. An ``outcome``
value is a failure when it is one of the standard words or codes (``formats.outcome``:
Failure, Denied, F, 4, 8, 12...) or of ``failure_values``, else a success.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phiwarden.domain.enums import AccessAction

MAPPINGS_DIR = Path(__file__).with_name("mappings")
#: Mappings that ship with phiwarden, by name (``--format epic`` uses "epic").
BUNDLED: dict[str, Path] = {
    "epic": MAPPINGS_DIR / "epic.toml",
    "generic": MAPPINGS_DIR / "generic.toml",
}

REQUIRED_FIELDS = ("ts", "user", "patient", "action")
OPTIONAL_FIELDS = ("workstation", "department", "btg_flag", "btg_reason", "event_id", "outcome")
ISO8601 = "ISO8601"
_ACTIONS = frozenset(a.value for a in AccessAction)
_MATCH = {"user": ("login", "user_id"), "patient": ("mrn", "patient_id")}


class MappingError(ValueError):
    """A mapping file that cannot be used, or an export that does not fit its mapping."""


@dataclass(frozen=True)
class CsvOptions:
    """How to split the export into fields."""

    delimiter: str = ","
    encoding: str = "utf-8"
    quote_char: str = '"'
    newlines_in_values: bool = False
    files: str = "*.csv"


@dataclass(frozen=True)
class Mapping:
    """A parsed, checked mapping file."""

    name: str
    path: Path
    source_system: str | None
    event_id_prefix: str
    csv: CsvOptions
    columns: dict[str, tuple[str, ...]]
    timestamp_formats: tuple[str, ...]
    user_match: tuple[str, ...]
    patient_match: tuple[str, ...]
    department_by_name: bool
    action_values: dict[str, str]
    action_default: str | None
    btg_true: frozenset[str]
    #: outcome values (upper case) meaning a failed access, beyond the standard ones
    failure_values: frozenset[str] = frozenset()

    def column(self, field: str) -> str | None:
        """The single source column of a field (None when not mapped)."""
        cols = self.columns.get(field)
        return cols[0] if cols else None

    def source_columns(self) -> list[str]:
        """Every source column the mapping reads, once each, in mapping order."""
        seen: list[str] = []
        for cols in self.columns.values():
            seen.extend(c for c in cols if c not in seen)
        return seen

    def missing_columns(self, header: Sequence[str]) -> list[str]:
        """Source columns the mapping names that a header lacks."""
        present = set(header)
        return [c for c in self.source_columns() if c not in present]

    def describe(self, field: str) -> str:
        """How messages name a field: its source column(s)."""
        return "+".join(self.columns.get(field, (field,)))


def _str(table: dict[str, Any], key: str, default: str, where: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise MappingError(f"{where}: {key} must be a string, got {value!r}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
        raise MappingError(f"{where} must be a non-empty string or list of strings, got {value!r}")
    return tuple(items)


def _section(doc: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise MappingError(f"{where}: [{name}] must be a table")
    return value


def _csv(doc: dict[str, Any], where: str) -> CsvOptions:
    sec = _section(doc, "csv", where)
    opts = CsvOptions(
        delimiter=_str(sec, "delimiter", ",", f"{where} [csv]"),
        encoding=_str(sec, "encoding", "utf-8", f"{where} [csv]"),
        quote_char=_str(sec, "quote_char", '"', f"{where} [csv]"),
        newlines_in_values=bool(sec.get("newlines_in_values", False)),
        files=_str(sec, "files", "*.csv", f"{where} [csv]"),
    )
    if len(opts.delimiter) != 1 or len(opts.quote_char) > 1:
        raise MappingError(f"{where} [csv]: delimiter and quote_char must be one character")
    try:
        "".encode(opts.encoding)
    except LookupError:
        raise MappingError(f"{where} [csv]: unknown encoding {opts.encoding!r}") from None
    return opts


def _columns(doc: dict[str, Any], where: str) -> dict[str, tuple[str, ...]]:
    sec = _section(doc, "columns", where)
    unknown = sorted(set(sec) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        known = ", ".join((*REQUIRED_FIELDS, *OPTIONAL_FIELDS))
        raise MappingError(f"{where} [columns]: unknown field(s) {', '.join(unknown)}; use {known}")
    missing = [f for f in REQUIRED_FIELDS if f not in sec]
    if missing:
        raise MappingError(f"{where} [columns]: name the source column of {', '.join(missing)}")
    columns: dict[str, tuple[str, ...]] = {}
    for field in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS):
        if field in sec:
            cols = _strings(sec[field], f"{where} [columns] {field}")
            if len(cols) > 1 and field not in ("btg_reason", "ts"):
                raise MappingError(f"{where} [columns] {field}: name one column")
            columns[field] = cols
    return columns


def _match(doc: dict[str, Any], section: str, where: str) -> tuple[str, ...]:
    sec = _section(doc, section, where)
    allowed = _MATCH[section]
    match = _strings(sec.get("match", [allowed[0]]), f"{where} [{section}] match")
    bad = [m for m in match if m not in allowed]
    if bad:
        raise MappingError(f"{where} [{section}] match: use {' or '.join(allowed)}, not {bad[0]!r}")
    return match


def _actions(doc: dict[str, Any], where: str) -> tuple[dict[str, str], str | None]:
    sec = _section(doc, "action", where)
    values = sec.get("values", {})
    if not isinstance(values, dict):
        raise MappingError(f"{where}: [action.values] must be a table")
    default = sec.get("default")
    for source, action in [*values.items(), *([("default", default)] if default else [])]:
        if action not in _ACTIONS:
            raise MappingError(
                f"{where} [action]: {source!r} maps to {action!r}; use one of "
                f"{', '.join(sorted(_ACTIONS))}"
            )
    return {str(k): str(v) for k, v in values.items()}, default


def _failure_values(doc: dict[str, Any], where: str) -> frozenset[str]:
    values = _section(doc, "outcome", where).get("failure_values")
    if values is None:
        return frozenset()
    return frozenset(
        v.strip().upper() for v in _strings(values, f"{where} [outcome] failure_values")
    )


def read_mapping(path: Path) -> Mapping:
    """Parse and check a mapping file; MappingError says what to fix."""
    where = Path(path).name
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"cannot read mapping {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{where} is not valid TOML: {exc}") from exc
    columns = _columns(doc, where)
    formats = _strings(
        _section(doc, "timestamp", where).get("formats", [ISO8601]), f"{where} [timestamp] formats"
    )
    dept = _str(
        _section(doc, "department", where), "match", "department_id", f"{where} [department]"
    )
    if dept not in ("department_id", "name"):
        raise MappingError(f"{where} [department] match: use department_id or name")
    values, default = _actions(doc, where)
    true_values = _section(doc, "btg_flag", where).get(
        "true_values", ["Y", "YES", "1", "TRUE", "T"]
    )
    source_system = doc.get("source_system")
    return Mapping(
        name=_str(doc, "name", Path(path).stem, where),
        path=Path(path),
        source_system=source_system if isinstance(source_system, str) and source_system else None,
        event_id_prefix=_str(doc, "event_id_prefix", "EV-", where),
        csv=_csv(doc, where),
        columns=columns,
        timestamp_formats=formats,
        user_match=_match(doc, "user", where),
        patient_match=_match(doc, "patient", where),
        department_by_name=dept == "name",
        action_values=values,
        action_default=default,
        btg_true=frozenset(v.upper() for v in _strings(true_values, f"{where} [btg_flag]")),
        failure_values=_failure_values(doc, where),
    )
