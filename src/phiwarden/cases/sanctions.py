"""The sanction policy as data: levels of violation, each with the sanctions it leads to.

The shipped policy is ``cases/sanctions.toml``; a hospital's copy in ``CONFIG/sanctions.toml``
replaces it. A sanction records the version and digest of the policy it was decided under,
so a later change to the policy does not rewrite what was decided.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PACKAGED = Path(__file__).parent / "sanctions.toml"


class SanctionPolicyError(ValueError):
    """A sanction policy file that cannot be used, with what to fix."""


class Level(BaseModel):
    """One level of violation and what it leads to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: int = Field(ge=1, le=9)
    title: str = Field(min_length=1)
    examples: str = ""
    actions: tuple[str, ...] = Field(min_length=1)


class SanctionPolicy(BaseModel):
    """The hospital's sanction policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    title: str
    cites: str = ""
    levels: tuple[Level, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> SanctionPolicy:
        numbers = [lv.level for lv in self.levels]
        if len(set(numbers)) != len(numbers):
            raise ValueError("two levels have the same number")
        return self

    def level(self, number: int) -> Level:
        """The level numbered ``number``; ValueError naming the levels there are."""
        for lv in self.levels:
            if lv.level == number:
                return lv
        known = ", ".join(str(lv.level) for lv in self.levels)
        raise ValueError(f"no sanction level {number}: the policy has {known}")

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical policy."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


def policy_path(config_dir: Path | None) -> Path:
    """The hospital's policy file if it has one, else the shipped one."""
    if config_dir is not None and (config_dir / "sanctions.toml").is_file():
        return config_dir / "sanctions.toml"
    return PACKAGED


def load_policy(config_dir: Path | None) -> SanctionPolicy:
    """The sanction policy in force; SanctionPolicyError names the file and field to fix."""
    path = policy_path(config_dir)
    try:
        return SanctionPolicy.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise SanctionPolicyError(f"{path}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SanctionPolicyError(f"{path}: {where}: {first['msg']}") from exc
