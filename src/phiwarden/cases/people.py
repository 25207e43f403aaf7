"""Who holds each program role (Admissions Director, Privacy Officer, ...) and how to
reach them: ``CONFIG/casework.toml``, else the packaged default with no addresses.

A task is assigned to the person holding its program role; with an e-mail address set,
the person is told by e-mail (case number, task and link only). Without one, the task
still shows in the pages and the API.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGED = Path(__file__).parent / "casework.toml"


@dataclass(frozen=True)
class Person:
    """The holder of a program role."""

    role: str
    name: str
    email: str | None


def casework_path(config_dir: Path | None) -> Path:
    """The hospital's casework settings if present, else the packaged defaults."""
    if config_dir is not None and (config_dir / "casework.toml").is_file():
        return config_dir / "casework.toml"
    return PACKAGED


_PARSED: dict[tuple[Path, int], dict[str, Any]] = {}


def _settings(path: Path) -> dict[str, Any]:
    """The parsed casework file, read again only when it changes (each case step asks)."""
    key = (path, path.stat().st_mtime_ns)
    if key not in _PARSED:
        try:
            _PARSED[key] = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    return _PARSED[key]


def load_people(config_dir: Path | None) -> dict[str, Person]:
    """Program role -> person, from the casework settings."""
    path = casework_path(config_dir)
    data = _settings(path)
    out: dict[str, Person] = {}
    for role, entry in (data.get("people") or {}).items():
        if not isinstance(entry, dict) or not entry.get("name"):
            raise ValueError(f"{path}: people.{role!r} needs a name")
        out[role] = Person(role, str(entry["name"]), entry.get("email") or None)
    return out


def load_contacts(config_dir: Path | None) -> dict[str, str]:
    """Outside contacts (law enforcement, billing system) from the casework settings."""
    data = _settings(casework_path(config_dir))
    return {str(k): str(v) for k, v in (data.get("contacts") or {}).items()}


@dataclass(frozen=True)
class Endpoint:
    """A downstream system that takes HL7 v2 over MLLP (clinical system, lab, radiology)."""

    name: str
    host: str
    port: int


def load_endpoints(config_dir: Path | None) -> list[Endpoint]:
    """The downstream systems told of record separations (``[[downstream]]`` entries with
    ``name`` and ``address = "host:port"``)."""
    path = casework_path(config_dir)
    data = _settings(path)
    out: list[Endpoint] = []
    for entry in data.get("downstream") or []:
        host, _, port = str(entry.get("address", "")).rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{path}: downstream {entry.get('name')!r}: address is host:port")
        out.append(Endpoint(str(entry.get("name") or host), host, int(port)))
    return out
