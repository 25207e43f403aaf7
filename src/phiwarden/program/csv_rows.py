"""Reading the program's CSV files (training roster, service providers): headers matched
by meaning, dates in the forms exports use, and each bad row kept in quarantine with its
file, line and reason while the good rows around it load."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Connection

from phiwarden.store.repositories import add_quarantine
from phiwarden.store.sensitive import Protector

_KEY = re.compile(r"[^a-z0-9]+")
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d-%b-%Y", "%Y%m%d")


def key(name: str) -> str:
    """A header as a key: lower case, words joined by underscores."""
    return _KEY.sub("_", name.strip().lower()).strip("_")


def parse_date(value: str, field: str) -> date | None:
    """A date in any of the usual export forms; empty is None; ValueError says the field."""
    text = value.strip()
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{field} {text!r} is not a date (use YYYY-MM-DD)")


def rows(path: Path, aliases: dict[str, tuple[str, ...]]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) of a CSV file with its headers mapped to our names through ``aliases``
    (our name -> the headers that mean it). ValueError when a required column is absent."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        headers = {key(h): h for h in reader.fieldnames or []}
        column: dict[str, str] = {}
        for ours, names in aliases.items():
            found = next((headers[n] for n in (ours, *names) if n in headers), None)
            if found is not None:
                column[ours] = found
        for line, raw in enumerate(reader, start=2):
            yield line, {ours: (raw.get(theirs) or "").strip() for ours, theirs in column.items()}


def require_columns(
    path: Path, aliases: dict[str, tuple[str, ...]], needed: tuple[str, ...]
) -> None:
    """ValueError naming the columns a file lacks."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        headers = {key(h) for h in next(csv.reader(fh), [])}
    missing = [n for n in needed if not ({n, *aliases.get(n, ())} & headers)]
    if missing:
        raise ValueError(
            f"{path}: no column {', '.join(missing)} (the header row names the columns)"
        )


def quarantine(
    conn: Connection,
    protector: Protector,
    path: Path,
    line: int,
    kind: str,
    reason: str,
    raw: dict[str, str],
) -> bool:
    """Keep a bad row (encrypted) with its file, line and reason."""
    return add_quarantine(
        conn,
        protector,
        source=str(path),
        location=f"line {line}",
        record_type=kind,
        reason=reason,
        raw=",".join(raw.values()),
    )
