"""Is it a reportable breach? The decision of 45 CFR 164.402, recorded with its evidence.

An impermissible use or disclosure of PHI is **presumed** a breach unless the entity shows,
by a documented risk assessment of at least four factors, a low probability that the PHI
has been compromised, or one of the three exclusions (or the encryption safe harbour)
applies. The reviewer records the outcome and signs; the record is kept as the burden of
proof (164.414(b), six years under 164.530(j)). The decision may differ by group of people:
those whose exposed elements are only a name and an MRN, say, against those with an SSN.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from phiwarden.cases.effects import Ctx, Refused
from phiwarden.cases.engine import Forbidden, change
from phiwarden.store.setup import Stores

Outcome = Literal["breach", "not-breach", "excluded"]

#: the exclusions from the definition of breach, and the encryption safe harbour
EXCLUSIONS: dict[str, tuple[str, str]] = {
    "encryption": (
        "The PHI was secured as the HHS guidance specifies (encrypted, or destroyed), so it "
        "is not unsecured PHI and no notice is required",
        "45 CFR 164.402 (unsecured protected health information); 74 FR 42740 (HHS guidance "
        "specifying the technologies and methodologies that render PHI unusable)",
    ),
    "workforce_good_faith": (
        "Unintentional acquisition, access or use by a workforce member or a person acting "
        "under the entity's authority, in good faith and within the scope of authority, "
        "with no further impermissible use or disclosure",
        "45 CFR 164.402, definition of breach, paragraph (1)(i)",
    ),
    "inadvertent_internal": (
        "Inadvertent disclosure by a person authorised to access PHI to another person "
        "authorised at the same covered entity, business associate or organised health care "
        "arrangement, with no further impermissible use or disclosure",
        "45 CFR 164.402, definition of breach, paragraph (1)(ii)",
    ),
    "could_not_retain": (
        "A good-faith belief that the unauthorised person to whom the disclosure was made "
        "would not reasonably have been able to retain the information",
        "45 CFR 164.402, definition of breach, paragraph (1)(iii)",
    ),
}
#: what weighs most in the nature and extent of the PHI (factor 1)
HEAVY = {"ssn", "financial_account", "clinical", "drivers_license", "insurance"}
PRESUMPTION = "45 CFR 164.402, definition of breach, paragraph (2)"
FACTORS_CITE = "45 CFR 164.402(2)(i)-(iv)"


class Assessment(BaseModel):
    """The four-factor risk assessment, each factor with what was found."""

    nature_extent: str = Field(
        "",
        max_length=4000,
        description="factor 1: the PHI involved, its identifiers, "
        "and how likely re-identification is",
    )
    recipient: Literal["unknown", "known_bound_by_hipaa", "known_not_bound"] = "unknown"
    recipient_note: str = Field("", max_length=4000, description="factor 2: who received it")
    acquired_or_viewed: Literal["yes", "no", "unknown"] = "unknown"
    forensics: str = Field("", max_length=4000, description="factor 3: what the evidence shows")
    mitigation: Literal["none", "partial", "full"] = "none"
    mitigation_note: str = Field("", max_length=4000, description="factor 4: what was done")
    low_probability: bool = Field(
        False, description="the reviewer's conclusion: a low probability of compromise"
    )

    def gaps(self) -> list[str]:
        """The factors not documented."""
        named = {
            "nature and extent of the PHI (factor 1)": self.nature_extent,
            "the unauthorised person (factor 2)": self.recipient_note,
            "whether the PHI was acquired or viewed (factor 3)": self.forensics,
            "how far the risk was mitigated (factor 4)": self.mitigation_note,
        }
        return [k for k, v in named.items() if not v.strip()]

    def warnings(self, elements: set[str]) -> list[str]:
        """What in the assessment points to compromise, for the reviewer to weigh."""
        found = []
        if elements & HEAVY:
            heavy = ", ".join(sorted(elements & HEAVY))
            found.append(f"factor 1: the exposed data include {heavy}")
        if self.recipient == "unknown":
            found.append("factor 2: the recipient is unknown")
        if self.acquired_or_viewed != "no":
            found.append(f"factor 3: acquired or viewed: {self.acquired_or_viewed}")
        if self.mitigation != "full":
            found.append(f"factor 4: mitigation {self.mitigation}")
        return found


class Group(BaseModel):
    """A group of people decided apart: those whose exposed elements are all in ``only``."""

    name: str = Field(min_length=1, max_length=120)
    only: list[str] = Field(min_length=1)
    outcome: Outcome
    reason: str = Field(min_length=1, max_length=4000)
    exclusion: str | None = None
    assessment: Assessment | None = None


class Decision(BaseModel):
    """The breach decision for an incident (and for any groups decided apart)."""

    outcome: Outcome
    reason: str = Field(min_length=1, max_length=4000)
    exclusion: str | None = None
    assessment: Assessment | None = None
    groups: list[Group] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _exclusion_known(self) -> Decision:
        for exclusion in (self.exclusion, *(g.exclusion for g in self.groups)):
            if exclusion is not None and exclusion not in EXCLUSIONS:
                raise ValueError(f"unknown exclusion {exclusion!r}: use {', '.join(EXCLUSIONS)}")
        return self


def check(outcome: str, exclusion: str | None, assessment: Assessment | None, who: str) -> None:
    """Refuse what the rule does not allow: 'excluded' needs an exclusion; 'not-breach'
    needs all four factors documented and the reviewer's conclusion of a low probability."""
    if outcome == "excluded" and exclusion is None:
        raise Refused(f"{who}: say which exclusion applies ({', '.join(EXCLUSIONS)})")
    if outcome == "not-breach":
        if assessment is None:
            raise Refused(
                f"{who}: a breach is presumed ({PRESUMPTION}); record the four-factor risk "
                "assessment that shows a low probability of compromise"
            )
        gaps = assessment.gaps()
        if gaps:
            raise Refused(f"{who}: document every factor ({FACTORS_CITE}): {'; '.join(gaps)}")
        if not assessment.low_probability:
            raise Refused(
                f"{who}: the assessment does not conclude a low probability of compromise, so "
                f"the breach is presumed ({PRESUMPTION})"
            )


def outcome_for(decision: dict[str, Any], elements: set[str]) -> tuple[str, str]:
    """(outcome, group name) for a person with these exposed elements: the first group
    whose elements cover theirs, else the incident's outcome."""
    for group in decision.get("groups") or []:
        if elements and elements <= set(group["only"]):
            return group["outcome"], group["name"]
    return decision["outcome"], "everyone else"


def decide(
    stores: Stores,
    incident_id: str,
    decision: Decision,
    *,
    actor: str,
    role: str,
    elements: set[str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record the decision on the incident (its details and its timeline) after checking it
    against the rule; the record as kept. ``elements`` (what was exposed, for the warnings)
    is read from the incident's scope unless given."""
    if role != "privacy_officer":
        raise Forbidden(f"the role {role} may not decide a breach: privacy_officer may")
    check(decision.outcome, decision.exclusion, decision.assessment, "the incident")
    for group in decision.groups:
        check(group.outcome, group.exclusion, group.assessment, f"group {group.name!r}")
    if elements is None:
        from phiwarden.breach.scope import scope

        with stores.engine.connect() as conn:
            people = scope(conn, incident_id)["people"]
        elements = {e for person in people for e in person["elements"]}
    exposed = elements
    at = (now or datetime.now()).replace(microsecond=0)
    record = {
        **decision.model_dump(),
        "decided_by": actor,
        "decided_at": at.isoformat(),
        "warnings": decision.assessment.warnings(exposed) if decision.assessment else [],
        "cites": {
            "presumption": PRESUMPTION,
            "factors": FACTORS_CITE,
            "exclusion": EXCLUSIONS[decision.exclusion][1] if decision.exclusion else None,
            "burden_of_proof": "45 CFR 164.414(b)",
        },
    }

    def work(ctx: Ctx) -> None:
        if ctx.case["case_type"] != "breach_incident":
            raise LookupError(f"{incident_id} is not a breach incident")
        details = dict(ctx.case["details"])
        history = list(details.get("decisions") or [])
        if details.get("decision"):
            history.append(details["decision"])
        ctx.case["details"] = {**details, "decision": record, "decisions": history}
        groups = "; ".join(f"{g.name}: {g.outcome}" for g in decision.groups)
        ctx.event(
            "decision",
            f"Breach decision: {decision.outcome}"
            + (f" ({decision.exclusion})" if decision.exclusion else "")
            + f" - {decision.reason}"
            + (f" [groups: {groups}]" if groups else ""),
            cites=PRESUMPTION,
            detail=record,
        )

    change(stores, incident_id, None, actor, work, now=at)
    return record
