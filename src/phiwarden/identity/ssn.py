"""What an SSN says about itself: never issued, advertising, and when it can have been issued.

Rules from REFERENCE §2: python-stdnum's ``us.ssn`` rejects numbers that were never issued
(area 000, 666, 900-999; group 00; serial 0000) and the known advertising numbers.
Randomisation began on 2011-06-25; before it, areas 734-749 and 773-899 were never used, so
such a number was issued on or after that day. A person who was already an adult then is a
weak signal (people who immigrate get numbers as adults): it is scored, with the age at
issue as evidence, never used to block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from stdnum.exceptions import ValidationError
from stdnum.us import ssn as stdnum_ssn

RANDOMISATION = date(2011, 6, 25)
#: Age at the earliest possible issue from which a post-randomisation SSN is a red flag.
ADULT_AT_ISSUE = 18
_DIGITS = re.compile(r"\D")


@dataclass(frozen=True)
class SsnCheck:
    """The verdict on one SSN: None fields mean "nothing wrong found"."""

    digits: str | None
    never_issued: str | None = None
    issued_after_randomisation: bool = False
    age_at_issue: int | None = None

    @property
    def malformed(self) -> bool:
        """True when the value is not nine digits at all."""
        return self.digits is None


def digits(value: str) -> str | None:
    """The nine digits of an SSN written with or without dashes or spaces; else None."""
    d = _DIGITS.sub("", value)
    return d if len(d) == 9 else None


def _age(dob: date, on: date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def check_ssn(value: str, dob: date | None = None) -> SsnCheck:
    """Never-issued and advertising numbers (stdnum), and the post-randomisation age check."""
    d = digits(value)
    if d is None:
        return SsnCheck(None, never_issued="not nine digits")
    try:
        stdnum_ssn.validate(d)
    except ValidationError:
        area, group, serial = d[:3], d[3:5], d[5:]
        if area in ("000", "666") or area >= "900":
            why = f"area {area} is never issued"
        elif group == "00":
            why = "group 00 is never issued"
        elif serial == "0000":
            why = "serial 0000 is never issued"
        else:
            why = "a known advertising or misused number"
        return SsnCheck(d, never_issued=why)
    area_number = int(d[:3])
    late = 734 <= area_number <= 749 or 773 <= area_number <= 899
    age = _age(dob, RANDOMISATION) if late and dob is not None else None
    if age is not None and age < 0:
        age = None  # born after randomisation: any area fits
    return SsnCheck(d, issued_after_randomisation=late, age_at_issue=age)


def ssn_dob_mismatch(check: SsnCheck) -> bool:
    """True when the number was issued after 2011-06-25 to someone already an adult then."""
    return check.age_at_issue is not None and check.age_at_issue >= ADULT_AT_ISSUE
