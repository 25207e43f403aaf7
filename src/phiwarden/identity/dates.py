"""Dates of birth from what people and systems write: ISO, US, compact, with validation."""

from __future__ import annotations

import re
from datetime import date, datetime

_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y", "%m-%d-%Y", "%Y/%m/%d", "%d.%m.%Y")
_SPACES = re.compile(r"\s+")
EARLIEST = date(1880, 1, 1)


def parse_dob(value: object, today: date | None = None) -> date | None:
    """A date of birth, or None if the value is empty, unreadable, impossible or in the future."""
    if value is None:
        return None
    if isinstance(value, datetime):
        found: date | None = value.date()
    elif isinstance(value, date):
        found = value
    else:
        text = _SPACES.sub("", str(value))
        found = None
        for fmt in _FORMATS:
            try:
                found = datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
    if found is None:
        return None
    limit = today or date.today()
    return found if EARLIEST <= found <= limit else None
