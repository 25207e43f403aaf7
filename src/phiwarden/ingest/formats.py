"""The input formats phiwarden reads and how ``--format auto`` tells them apart.

Each format is one module under ``ingest/`` exposing two functions:

- ``sniff(path: Path) -> bool``: True when the file (or folder) is in this format;
- ``load(loader: Loader, path: Path, progress: Progress | None) -> None``: read it and
  hand canonical records to the shared loader (which validates, quarantines and stores).

Modules are imported only when used, so a format's library loads only when needed.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Protocol, cast

from phiwarden.ingest.loader import Loader

Progress = Callable[[str, int, int], None]


class FormatModule(Protocol):
    """What a format module provides."""

    def sniff(self, path: Path) -> bool:
        """True when ``path`` is in this format."""
        ...

    def load(self, loader: Loader, path: Path, progress: Progress | None) -> None:
        """Read ``path`` into the loader."""
        ...


#: Format name -> module, in the order ``auto`` tries them (most specific first).
MODULES: dict[str, str] = {
    "fhir": "phiwarden.ingest.fhir",
    "hl7v2": "phiwarden.ingest.hl7v2",
    "epic": "phiwarden.ingest.access_log",
    "atna": "phiwarden.ingest.atna",
    "x12": "phiwarden.ingest.x12",
    "csv": "phiwarden.ingest.canonical",
    "parquet": "phiwarden.ingest.canonical",
}


class UnsupportedFormatError(ValueError):
    """A format name phiwarden does not read, or a path whose format cannot be told."""


def names() -> tuple[str, ...]:
    """Every value ``--format`` accepts."""
    return ("auto", *MODULES)


def module(name: str) -> FormatModule:
    """The reader module of a format."""
    if name not in MODULES:
        raise UnsupportedFormatError(f"unknown format {name!r}: use one of {', '.join(names())}")
    if not available(name):
        raise UnsupportedFormatError(f"this installation has no reader for {name!r}")
    loaded: ModuleType = importlib.import_module(MODULES[name])
    return cast(FormatModule, loaded)


def available(name: str) -> bool:
    """True when the format's reader module is installed in this build."""
    return importlib.util.find_spec(MODULES[name]) is not None


def detect(path: Path) -> str:
    """Tell a path's format by asking each reader in turn."""
    for name in MODULES:
        if available(name) and module(name).sniff(path):
            return name
    raise UnsupportedFormatError(
        f"{path}: cannot tell its format; pass --format ({', '.join(names())})"
    )
