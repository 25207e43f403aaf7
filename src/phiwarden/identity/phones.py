"""Phone numbers in E.164 form, with phonenumbers.

A ten-digit North American number is formatted directly (area code and exchange cannot
start with 0 or 1); everything else goes through phonenumbers with the US as the default
region. ``phone_problem`` answers whether a number could be dialled at all.
"""

from __future__ import annotations

import re

import phonenumbers

_NANP = re.compile(r"^1?([2-9]\d{2}[2-9]\d{6})$")
_DIGITS = re.compile(r"\D")


def e164(value: str) -> str | None:
    """The E.164 form: ``+1`` and ten digits for a North American number, otherwise what
    phonenumbers parses (a ``+44`` number stays British); None when no number can be read."""
    digits = _DIGITS.sub("", value)
    stripped = value.strip()
    m = _NANP.match(digits)
    if m and (not stripped.startswith("+") or stripped.startswith("+1")):
        return f"+1{m.group(1)}"
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_problem(value: str) -> str | None:
    """Why the number cannot be a working phone (phonenumbers' rules), or None if it can."""
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException as exc:
        return f"not a phone number ({exc})"
    if not phonenumbers.is_valid_number(number):
        return "not a valid, assigned phone number"
    return None
