"""Procedures as data: the states, transitions, guards, tasks and timers of a case type.

A procedure is a TOML file in the package (``cases/procedures/NAME.toml``), overridden by a
hospital's copy in ``CONFIG/procedures/NAME.toml``. It is validated when loaded (every
state, effect and guard it names must exist), and kept in the store under its name,
version and SHA-256 when a case is opened with it: a case runs under the definition it was
opened with, whatever the file says later.
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import Connection, select

from phiwarden.store.case_tables import case_procedures
from phiwarden.store.repositories import insert_rows

PACKAGED = Path(__file__).parent / "procedures"

#: Guards a transition may require (besides document:KIND, fact:NAME and input:NAME).
PLAIN_GUARDS = frozenset({"reason", "summary", "tasks_done"})


class ProcedureError(ValueError):
    """A procedure file that cannot be used, with what to fix."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskSpec(_Model):
    """A task a state creates for a program role."""

    key: str
    role: str
    title: str
    signoff: str
    signers: tuple[str, ...] = ("privacy_officer",)
    cites: str = ""
    due_days: int | None = None


class TimerSpec(_Model):
    """A due date a state sets; the tick runs ``action`` when it passes."""

    key: str
    action: str
    title: str
    days: int | None = None
    days_setting: str | None = None
    cites: str = ""


class StateSpec(_Model):
    """One state: what happens on entering it."""

    name: str
    title: str
    cites: str = ""
    description: str = ""
    effects: tuple[str, ...] = ()
    tasks: tuple[TaskSpec, ...] = ()
    timers: tuple[TimerSpec, ...] = ()


class TransitionSpec(_Model):
    """A move between states, who may make it and what it needs."""

    trigger: str
    title: str
    source: tuple[str, ...]
    dest: str
    roles: tuple[str, ...] = ("privacy_officer",)
    requires: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    completes: tuple[str, ...] = ()
    cites: str = ""


class Evidence(_Model):
    """A document or recorded fact a guard can ask for."""

    title: str
    cites: str = ""
    #: the roles that may record it (facts only)
    roles: tuple[str, ...] = ("privacy_officer",)


class Procedure(_Model):
    """A validated procedure definition."""

    name: str
    version: str
    title: str
    case_prefix: str = Field(pattern=r"^[A-Z]{1,4}$")
    program: str = ""
    initial: str
    final: tuple[str, ...] = ()
    documents: dict[str, Evidence] = Field(default_factory=dict)
    facts: dict[str, Evidence] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Procedure:
        names = [s.name for s in self.states]
        if len(set(names)) != len(names):
            raise ValueError("two states have the same name")
        known = set(names)
        if self.initial not in known:
            raise ValueError(f"initial state {self.initial!r} is not declared")
        for t in self.transitions:
            for s in (*t.source, t.dest):
                if s not in known:
                    raise ValueError(f"transition {t.trigger!r} names unknown state {s!r}")
            for guard in t.requires:
                self._check_guard(t.trigger, guard)
        for state in self.states:
            for timer in state.timers:
                if (timer.days is None) == (timer.days_setting is None):
                    raise ValueError(f"timer {timer.key!r} needs one of days or days_setting")
                if timer.days_setting and timer.days_setting not in self.settings:
                    raise ValueError(f"timer {timer.key!r}: no setting {timer.days_setting!r}")
        return self

    def _check_guard(self, trigger: str, guard: str) -> None:
        for alternative in guard.split("|"):
            kind, _, name = alternative.partition(":")
            ok = (
                (kind == "document" and name in self.documents)
                or (kind == "fact" and name in self.facts)
                or (kind == "input" and bool(name))
                or (not name and kind in PLAIN_GUARDS)
            )
            if not ok:
                raise ValueError(f"transition {trigger!r}: unknown guard {alternative!r}")

    def state(self, name: str) -> StateSpec:
        """The state called ``name``."""
        for s in self.states:
            if s.name == name:
                return s
        raise KeyError(name)

    def transitions_from(self, state: str) -> list[TransitionSpec]:
        """The transitions leaving ``state``, in file order."""
        return [t for t in self.transitions if state in t.source]

    def timer_days(self, timer: TimerSpec) -> int:
        """The timer's period in days (from the setting it names, if any)."""
        if timer.days is not None:
            return timer.days
        return int(self.settings[str(timer.days_setting)])

    @property
    def procedure_id(self) -> str:
        """Name, version and a digest of the definition: what a case records."""
        return f"{self.name}@{self.version}:{self.digest[:12]}"

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical definition."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


def procedure_path(name: str, config_dir: Path | None) -> Path:
    """The file a procedure is read from: the hospital's copy if present, else ours."""
    if config_dir is not None:
        local = config_dir / "procedures" / f"{name}.toml"
        if local.is_file():
            return local
    packaged = PACKAGED / f"{name}.toml"
    if not packaged.is_file():
        known = ", ".join(sorted(p.stem for p in PACKAGED.glob("*.toml")))
        raise ProcedureError(f"no procedure {name!r}; known: {known}")
    return packaged


def parse(text: str, source: str) -> Procedure:
    """Validate a procedure's TOML text; a ProcedureError says what is wrong and where."""
    try:
        return Procedure.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ProcedureError(f"{source}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProcedureError(f"{source}: {where}: {first['msg']}") from exc


def load(name: str, config_dir: Path | None = None) -> tuple[Procedure, str]:
    """The current definition of a procedure and the path it came from.

    The file is read every time (an edit applies to the next case) and parsed once per
    text: validating it took about a tenth of opening a case.
    """
    path = procedure_path(name, config_dir)
    return _parsed(path.read_text(encoding="utf-8"), str(path)), str(path)


@functools.lru_cache(maxsize=64)
def _parsed(text: str, source: str) -> Procedure:
    return parse(text, source)


def register(conn: Connection, procedure: Procedure, source: str, now: datetime) -> str:
    """Keep this definition in the store (once per digest); its procedure id."""
    insert_rows(
        conn,
        case_procedures,
        [
            {
                "procedure_id": procedure.procedure_id,
                "name": procedure.name,
                "version": procedure.version,
                "sha256": procedure.digest,
                "source": source,
                "definition": procedure.model_dump(mode="json"),
                "loaded_at": now,
            }
        ],
    )
    return procedure.procedure_id


_CACHE: dict[str, Procedure] = {}


def stored(conn: Connection, procedure_id: str) -> Procedure:
    """The definition a case was opened under, as it was then."""
    if procedure_id not in _CACHE:
        definition = conn.execute(
            select(case_procedures.c.definition).where(
                case_procedures.c.procedure_id == procedure_id
            )
        ).scalar_one()
        _CACHE[procedure_id] = Procedure.model_validate(definition)
    return _CACHE[procedure_id]
