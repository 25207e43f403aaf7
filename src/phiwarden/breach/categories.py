"""The HHS breach portal's categories, as its report form lists them: what kind of breach,
and where the information was. An incident is recorded in exactly these, so the report to
HHS (45 CFR 164.408) can be filed from it without re-coding."""

from __future__ import annotations

#: command-line and API value -> the portal's wording (Type of Breach)
TYPES: dict[str, str] = {
    "hacking": "Hacking/IT Incident",
    "unauthorized_access": "Unauthorized Access/Disclosure",
    "theft": "Theft",
    "loss": "Loss",
    "improper_disposal": "Improper Disposal",
    "other": "Other",
}

#: command-line and API value -> the portal's wording (Location of Breached Information)
LOCATIONS: dict[str, str] = {
    "email": "Email",
    "network_server": "Network Server",
    "emr": "Electronic Medical Record",
    "desktop": "Desktop Computer",
    "laptop": "Laptop",
    "portable_device": "Other Portable Electronic Device",
    "paper": "Paper/Films",
    "other": "Other",
}


def check(kind: str, values: dict[str, str], value: str) -> str:
    """``value`` if it is one of the portal's categories, else a ValueError listing them."""
    if value not in values:
        raise ValueError(f"unknown breach {kind} {value!r}: use one of {', '.join(values)}")
    return value
