"""The program's settings (``program/program.toml``, or the hospital's copy in
``CONFIG/program.toml``): the training courses the workforce must complete."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PACKAGED = Path(__file__).parent / "program.toml"


class Course(BaseModel):
    """A required training course."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    every_months: int = Field(12, ge=1, le=120)
    roles: tuple[str, ...] = ()


class ProgramSettings(BaseModel):
    """What the program requires of the workforce."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    new_hire_days: int = Field(30, ge=0, le=365)
    courses: dict[str, Course] = Field(default_factory=dict)


def load_program(config_dir: Path | None) -> ProgramSettings:
    """The settings in force; ValueError names the file and the field to fix."""
    local = None if config_dir is None else config_dir / "program.toml"
    path = local if local is not None and local.is_file() else PACKAGED
    try:
        return ProgramSettings.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{path}: {where}: {first['msg']}") from exc
