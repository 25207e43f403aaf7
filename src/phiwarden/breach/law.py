"""The legal rules as cited data: the HIPAA Breach Notification Rule and one file per state
and territory (``breach/rules``), each field with its citation and a ``verified`` mark.

A compliance officer reads and updates the files, not the code: a hospital's copy in
``CONFIG/rules/`` (``hipaa.toml``, ``states/TX.toml``) replaces the shipped one. Every file is
checked on load against the models below, so a missing citation or a misspelt element is
an error that names the file and the field.
"""

from __future__ import annotations

import functools
import tomllib
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: what a state's law can count as personal information, beside the name
PI_ELEMENTS = (
    "ssn",
    "drivers_license",
    "state_id",
    "passport",
    "tax_id",
    "financial_account",
    "medical",
    "health_insurance",
    "biometrics",
    "credentials",
    "dob",
)
#: the scan's exposed elements -> the personal-information element a state names
SCAN_TO_PI = {
    "ssn": "ssn",
    "drivers_license": "drivers_license",
    "financial_account": "financial_account",
    "clinical": "medical",
    "insurance": "health_insurance",
    "dob": "dob",
}
#: the 50 states, the District of Columbia and Puerto Rico
JURISDICTIONS = (
    *("AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL"),
    *("IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE"),
    *("NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD"),
    *("TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR"),
)


class LawError(ValueError):
    """A rules file is missing or does not fit the schema."""


class Cited(BaseModel):
    """A rule with the provision it comes from."""

    model_config = ConfigDict(extra="forbid")
    cite: str = Field(min_length=3)
    verified: bool = False


class Triggers(Cited):
    """What counts as personal information: the name with any of ``elements``."""

    elements: list[Literal[PI_ELEMENTS]]  # type: ignore[valid-type]
    name_required: bool = True


class Individuals(Cited):
    """When the residents must be told: ``deadline_days`` after the clock starts (None:
    without unreasonable delay, with no number of days in the statute)."""

    deadline_days: int | None = Field(None, ge=1, le=365)
    clock: Literal["discovery", "determination"] = "discovery"
    standard: str = ""


class Regulator(Cited):
    """The attorney general or another regulator: who, from how many residents, by when,
    and in what form. ``threshold`` residents or more (``more_than``: strictly more)."""

    name: str
    threshold: int = Field(ge=1)
    more_than: bool = False
    deadline_days: int | None = Field(None, ge=0, le=365)
    business_days: bool = False
    relative_to: Literal["discovery", "individual_notice", "hhs_notice"] = "discovery"
    form: str = ""


class Agencies(Cited):
    """The nationwide consumer reporting agencies, from how many residents."""

    threshold: int = Field(ge=1)
    more_than: bool = True


class Hipaa(Cited):
    """Whether a HIPAA covered entity that complies with HIPAA complies with this law, and
    what it must still do (``still_notify``: the regulator after notifying HHS)."""

    deemed_compliant: bool
    still_notify: str = ""
    #: the regulator is told this many business days after HHS is notified (IL, NY)
    after_hhs_business_days: int | None = Field(None, ge=0, le=60)


class Letter(Cited):
    """What the state requires a notice to contain (headings in order, or items)."""

    headings: list[str] = Field(default_factory=list)
    items: list[str] = Field(default_factory=list)


class CreditMonitoring(Cited):
    """Identity-theft protection the law requires to be offered, and when."""

    required: bool
    months: int = Field(0, ge=0, le=60)
    when_exposed: list[Literal[PI_ELEMENTS]] = Field(default_factory=list)  # type: ignore[valid-type]


class Substitute(Cited):
    """When notice may be given by substitute means (cost, number of people, no address)."""

    cost_over: int | None = None
    people_over: int | None = None
    means: list[str] = Field(default_factory=list)


class State(BaseModel):
    """One state's or territory's breach-notification law."""

    model_config = ConfigDict(extra="forbid")
    code: Literal[JURISDICTIONS]  # type: ignore[valid-type]
    name: str
    statute: str = Field(min_length=5)
    checked: date
    complete: bool = False
    triggers: Triggers
    individuals: Individuals
    regulator: Regulator | None = None
    regulator_cite: str = ""
    agencies: Agencies | None = None
    hipaa: Hipaa | None = None
    letter: Letter | None = None
    credit_monitoring: CreditMonitoring | None = None
    substitute: Substitute | None = None

    def covers(self, exposed: set[str]) -> bool:
        """True when the exposed scan elements make personal information under this law."""
        named = "name" in exposed or not self.triggers.name_required
        found = {SCAN_TO_PI[e] for e in exposed if e in SCAN_TO_PI}
        return named and bool(found & set(self.triggers.elements))

    @property
    def verified(self) -> bool:
        """True when every section present is verified against the statute's text."""
        sections = (
            self.triggers,
            self.individuals,
            self.regulator,
            self.agencies,
            self.hipaa,
            self.letter,
            self.credit_monitoring,
            self.substitute,
        )
        return all(s.verified for s in sections if s is not None)


class HipaaRule(BaseModel):
    """The numbers of the HIPAA Breach Notification Rule the engine uses."""

    model_config = ConfigDict(extra="allow")
    name: str
    statute: str
    checked: date
    verified: bool
    individuals: dict[str, Any]
    hhs: dict[str, Any]
    media: dict[str, Any]
    substitute_notice: dict[str, Any]
    next_of_kin: dict[str, Any]
    business_associate: dict[str, Any]
    law_enforcement: dict[str, Any]
    content: dict[str, Any]


def _read(name: str, config: Path | None) -> tuple[dict[str, Any], str]:
    own = config / "rules" / name if config else None
    if own is not None and own.exists():
        return tomllib.loads(own.read_text()), str(own)
    shipped = resources.files("phiwarden.breach").joinpath("rules", *name.split("/"))
    if not shipped.is_file():
        raise LawError(f"no rules file {name}: add it under breach/rules or CONFIG/rules")
    return tomllib.loads(shipped.read_text()), f"breach/rules/{name}"


def hipaa_rule(config: Path | None = None) -> HipaaRule:
    """The HIPAA rule's numbers (a hospital's copy in ``CONFIG/rules/hipaa.toml`` first)."""
    data, source = _read("hipaa.toml", config)
    try:
        return HipaaRule(**data)
    except ValidationError as exc:
        raise LawError(f"{source}: {exc}") from exc


def state_law(code: str, config: Path | None = None) -> State:
    """One jurisdiction's law; a LawError naming the file and the field if it is wrong."""
    if code not in JURISDICTIONS:
        raise LawError(f"{code!r} is not a state, DC or PR: use a two-letter USPS code")
    data, source = _read(f"states/{code}.toml", config)
    try:
        state = State(**data)
    except ValidationError as exc:
        raise LawError(f"{source}: {' '.join(str(exc).split())}") from exc
    if state.code != code:
        raise LawError(f"{source} says it is {state.code}, not {code}")
    return state


@functools.cache
def _shipped_states() -> dict[str, State]:
    return {code: state_law(code) for code in JURISDICTIONS}


def all_states(config: Path | None = None) -> dict[str, State]:
    """Every jurisdiction's law, a hospital's own files first."""
    if config is None or not (config / "rules" / "states").is_dir():
        return dict(_shipped_states())
    return {code: state_law(code, config) for code in JURISDICTIONS}
