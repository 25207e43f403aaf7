"""What synthetic hospital to generate: sizes, window, seed and output formats."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

FORMATS: tuple[str, ...] = ("canonical", "fhir", "mailbox", "x12", "hl7", "access_log", "atna")

#: Access events per patient per 30 days the workflows produce, measured on generated
#: hospitals; used to size a hospital for a wanted number of events.
EVENTS_PER_PATIENT_MONTH = 48.0

_SIZES: dict[str, tuple[int, int, int]] = {
    "small": (2_000, 200, 30),
    "medium": (63_000, 3_000, 30),
    "large": (210_000, 8_000, 30),
}

MIN_PATIENTS = 200
MIN_WORKFORCE = 40
MIN_DAYS = 7


@dataclass(frozen=True)
class SynthSpec:
    """Size, time window, seed and output formats of one synthetic hospital.

    ``start`` is the first day of access activity; the window is ``days`` days long.
    Encounters also start up to two weeks before it so discharge billing falls inside.
    """

    patients: int
    workforce: int
    days: int
    seed: int = 7
    start: date = date(2026, 1, 5)
    facilities: int | None = None
    formats: tuple[str, ...] = FORMATS

    def __post_init__(self) -> None:
        if self.patients < MIN_PATIENTS:
            raise ValueError(f"patients must be at least {MIN_PATIENTS} (got {self.patients})")
        if self.workforce < MIN_WORKFORCE:
            raise ValueError(
                f"workforce must be at least {MIN_WORKFORCE} so every role and scenario is "
                f"staffed (got {self.workforce})"
            )
        if self.days < MIN_DAYS:
            raise ValueError(f"days must be at least {MIN_DAYS} (got {self.days})")
        if self.workforce * 2 > self.patients:
            raise ValueError(
                f"patients ({self.patients}) must be at least twice the workforce "
                f"({self.workforce}): employees are drawn from the patients"
            )
        if self.facilities is not None and not 1 <= self.facilities <= 16:
            raise ValueError(f"facilities must be between 1 and 16 (got {self.facilities})")
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown:
            raise ValueError(
                f"unknown format(s) {', '.join(unknown)}: use some of {', '.join(FORMATS)}"
            )

    @classmethod
    def size(cls, name: str, seed: int = 7) -> SynthSpec:
        """A named size: 'small' (~100k events), 'medium' (~3M) or 'large' (~10M)."""
        if name not in _SIZES:
            raise ValueError(f"unknown size {name!r}: use one of {', '.join(_SIZES)}")
        patients, workforce, days = _SIZES[name]
        return cls(patients=patients, workforce=workforce, days=days, seed=seed)

    @classmethod
    def for_events(
        cls, events: int, days: int = 30, seed: int = 7, formats: tuple[str, ...] = ("canonical",)
    ) -> SynthSpec:
        """A hospital sized to produce about ``events`` access events over ``days`` days."""
        patients = max(MIN_PATIENTS, round(events / EVENTS_PER_PATIENT_MONTH * 30 / days))
        workforce = max(MIN_WORKFORCE, min(patients // 2, round(patients / 22)))
        return cls(patients=patients, workforce=workforce, days=days, seed=seed, formats=formats)

    @property
    def n_facilities(self) -> int:
        """Facilities: as given, else grown with the workforce (3 to 16)."""
        if self.facilities is not None:
            return self.facilities
        return max(3, min(16, round(self.workforce / 50)))

    @property
    def snoopers_per_scenario(self) -> int:
        """Snooping users per scenario: 2, growing slowly so snoopers stay well under 1%."""
        return max(2, self.workforce // 2000)

    @property
    def thefts_per_scenario(self) -> int:
        """Injected identity thefts per scenario: 3 in 'small', growing with the patients."""
        return int(max(2, min(40, round(3 * (self.patients / 2000) ** 0.5))))

    @property
    def end(self) -> date:
        """The day after the last day of the window."""
        return self.start + timedelta(days=self.days)

    def as_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready values (for manifest.json)."""
        out = asdict(self)
        out["start"] = self.start.isoformat()
        out["formats"] = list(self.formats)
        out["facilities"] = self.n_facilities
        return out
