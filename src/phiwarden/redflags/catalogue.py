"""The Red Flags catalogue, kept as data in ``catalogue.toml`` and checked as it is loaded.

Each flag says how phiwarden learns of it (detection), how serious it is, and what the
program prescribes when it is raised. A compliance officer edits the TOML; the code reads it
through :func:`load_catalogue`, which refuses an entry it cannot trust with the code and the
field at fault.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TypeVar

CATALOGUE_FILE = "catalogue.toml"

E = TypeVar("E", bound=StrEnum)


class Category(StrEnum):
    """The five groups of the FTC rule's Supplement A, and the hospital's own flags."""

    CONSUMER_REPORT_ALERT = "consumer_report_alert"
    SUSPICIOUS_DOCUMENT = "suspicious_document"
    SUSPICIOUS_IDENTIFYING_INFORMATION = "suspicious_identifying_information"
    UNUSUAL_ACCOUNT_USE = "unusual_account_use"
    NOTICE_FROM_OTHERS = "notice_from_others"
    HEALTHCARE = "healthcare"


class Detection(StrEnum):
    """How phiwarden learns of a flag."""

    AUTOMATIC = "automatic"  # phiwarden's own data shows it
    ATTESTATION = "attestation"  # registration staff record what they saw
    NOTICE = "notice"  # someone tells the hospital


class Severity(StrEnum):
    """How strongly a flag points to identity theft."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Action(StrEnum):
    """The response the program prescribes when a flag is raised."""

    STOP_AND_VERIFY = "stop_and_verify"
    REVIEW_RECORDS = "review_records"
    SUSPEND_COLLECTION = "suspend_collection"
    UPDATE_CONTACT = "update_contact"
    INVESTIGATE_ACCESS = "investigate_access"
    MONITOR = "monitor"


SEVERITY_RANK: dict[str, int] = {"high": 3, "medium": 2, "low": 1}


@dataclass(frozen=True, slots=True)
class Flag:
    """One red flag of the program."""

    code: str
    category: Category
    title: str
    detection: Detection
    how_detected: str
    severity: Severity
    action: Action
    action_text: str
    prevention: tuple[str, ...]
    resolution: tuple[str, ...]
    source: str


_TEXT_FIELDS = ("title", "how_detected", "action_text", "source")
_LIST_FIELDS = ("prevention", "resolution")
_ENUM_FIELDS: dict[str, type[StrEnum]] = {
    "category": Category,
    "detection": Detection,
    "severity": Severity,
    "action": Action,
}
_FIELDS = frozenset({"code", *_TEXT_FIELDS, *_LIST_FIELDS, *_ENUM_FIELDS})


def _text(where: str, field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: field {field!r} must be a non-empty string")
    return value.strip()


def _enum(where: str, field: str, value: object, enum: type[E]) -> E:
    allowed = [m.value for m in enum]
    if value not in allowed:
        raise ValueError(
            f"{where}: field {field!r} is {value!r}; expected one of {', '.join(allowed)}"
        )
    return enum(value)


def _steps(where: str, field: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where}: field {field!r} must be a non-empty list of strings")
    return tuple(_text(where, f"{field}[{i}]", item) for i, item in enumerate(value))


def _flag(entry: object, index: int) -> Flag:
    if not isinstance(entry, dict):
        raise ValueError(f"flag #{index + 1}: must be a [[flag]] table")
    code = entry.get("code")
    if not isinstance(code, str) or not code.strip():
        raise ValueError(f"flag #{index + 1}: field 'code' must be a non-empty string")
    where = f"flag {code}"
    missing = sorted(_FIELDS - entry.keys())
    if missing:
        raise ValueError(f"{where}: missing field {', '.join(repr(m) for m in missing)}")
    unknown = sorted(entry.keys() - _FIELDS)
    if unknown:
        raise ValueError(f"{where}: unknown field {', '.join(repr(u) for u in unknown)}")
    return Flag(
        code=code.strip(),
        category=_enum(where, "category", entry["category"], Category),
        title=_text(where, "title", entry["title"]),
        detection=_enum(where, "detection", entry["detection"], Detection),
        how_detected=_text(where, "how_detected", entry["how_detected"]),
        severity=_enum(where, "severity", entry["severity"], Severity),
        action=_enum(where, "action", entry["action"], Action),
        action_text=_text(where, "action_text", entry["action_text"]),
        prevention=_steps(where, "prevention", entry["prevention"]),
        resolution=_steps(where, "resolution", entry["resolution"]),
        source=_text(where, "source", entry["source"]),
    )


def load_catalogue(path: Path | None = None) -> tuple[Flag, ...]:
    """Read and check the catalogue: the packaged ``catalogue.toml`` unless ``path`` is given.

    Raises ``ValueError`` naming the flag's code and the field when an entry is wrong, and
    when two entries share a code.
    """
    if path is None:
        packaged = resources.files("phiwarden.redflags").joinpath(CATALOGUE_FILE)
        name, raw = CATALOGUE_FILE, packaged.read_text(encoding="utf-8")
    else:
        name, raw = str(path), path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{name}: not valid TOML: {exc}") from exc
    entries = data.get("flag")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{name}: no [[flag]] tables")
    flags: list[Flag] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        flag = _flag(entry, index)
        if flag.code in seen:
            raise ValueError(f"{name}: flag {flag.code}: field 'code' is used twice")
        seen.add(flag.code)
        flags.append(flag)
    return tuple(flags)


CATALOGUE: tuple[Flag, ...] = load_catalogue()
BY_CODE: dict[str, Flag] = {flag.code: flag for flag in CATALOGUE}
