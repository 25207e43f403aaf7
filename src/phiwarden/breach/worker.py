"""Scanning one unit: extraction, recognition and linking as a pure function of the unit
and the patient index, so a process pool or Spark executors run it unchanged.

A worker process gets the index once (:func:`start`) and then scans batches of units
(:func:`scan_batch`); Spark broadcasts the index and calls :func:`scan_unit` per unit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from phiwarden.breach.extract import Limits, Text, Unscannable
from phiwarden.breach.people import Finding, Index, link_text
from phiwarden.breach.units import Unit, read_unit


def unit_key(where: str) -> str:
    """The stable key of a unit within its source (SHA-1 of its place)."""
    return hashlib.sha1(where.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class UnitResult:
    """What one unit gave: its findings, what could not be read, and its size."""

    key: str
    where: str
    bytes: int
    messages: int
    attachments: int
    findings: list[Finding] = field(default_factory=list)
    unscannable: list[tuple[str, str]] = field(default_factory=list)


def _attachment(where: str, unit_where: str) -> str | None:
    """The part of a unit an item came from when it is an attachment or a member (a
    workbook's sheets are one attachment), else None."""
    inner = where[len(unit_where) :]
    if not inner or inner.endswith(("/headers", "/body")):
        return None
    return inner.split("#", 1)[0]


def scan_unit(unit: Unit, index: Index, recognizer: str = "fast") -> UnitResult:
    """Read one unit and link what it holds to people. Never raises for bad content: a
    part that cannot be read is in ``unscannable``."""
    result = UnitResult(unit_key(unit.where), unit.where, unit.size, 1 if unit.is_message else 0, 0)
    attachments: set[str] = set()
    try:
        for item in read_unit(unit, Limits()):
            part = _attachment(item.where, unit.where)
            if part:
                attachments.add(part)
            if isinstance(item, Unscannable):
                result.unscannable.append((item.where, item.reason))
            elif isinstance(item, Text):
                result.findings.extend(link_text(item, index, recognizer))
    except Exception as exc:  # a bug or a reader's crash loses one unit, listed, not the scan
        result.unscannable.append((unit.where, f"could not be scanned ({type(exc).__name__})"))
    result.attachments = len(attachments)
    return result


_WORKER: tuple[Index, str] | None = None


def start(index: Index, recognizer: str = "fast") -> None:
    """A pool worker's initializer: keep the index for every batch it scans."""
    global _WORKER
    _WORKER = (index, recognizer)


def scan_batch(units: list[Unit]) -> list[UnitResult]:
    """Scan a batch of units in a pool worker started with :func:`start`."""
    if _WORKER is None:
        raise RuntimeError("the worker was not started with the patient index")
    index, recognizer = _WORKER
    return [scan_unit(unit, index, recognizer) for unit in units]
