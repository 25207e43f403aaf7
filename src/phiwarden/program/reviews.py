"""The program review log: each approved version of the red-flag catalogue, the sanction
policy and each procedure, with who approved it and when, and what changed since the
version approved before it (Red Flags program section VI: the program is reviewed and
updated, and changes approved; 16 CFR 681.1(e)(4) and (f)).

``approve`` records the file in force now (the hospital's copy in CONFIG, or the shipped
one), checked first so a broken file cannot be approved. ``pending`` lists the subjects
whose file differs from their last approved version.
"""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from phiwarden.cases.procedure import PACKAGED as PROCEDURES
from phiwarden.cases.procedure import parse, procedure_path
from phiwarden.cases.sanctions import load_policy, policy_path
from phiwarden.redflags.catalogue import load_catalogue
from phiwarden.store.program_tables import program_changes
from phiwarden.store.setup import Stores

CATALOGUE = Path(__file__).parents[1] / "redflags" / "catalogue.toml"


class ReviewError(ValueError):
    """A subject that cannot be approved, with what to do."""


@dataclass(frozen=True)
class Subject:
    """A program document under review: its file, text and version now."""

    name: str
    title: str
    path: Path
    text: str
    version: str

    @property
    def sha256(self) -> str:
        """Digest of the file's text."""
        return hashlib.sha256(self.text.encode()).hexdigest()


def title_of(subject: str) -> str:
    """A subject as a reader names it."""
    fixed = {"redflag_catalogue": "Red flag catalogue", "sanction_policy": "Sanction policy"}
    if subject in fixed:
        return fixed[subject]
    return "Procedure: " + subject.removeprefix("procedure:").replace("_", " ")


def subjects(config_dir: Path | None) -> list[str]:
    """Every subject the log can hold."""
    names = {p.stem for p in PROCEDURES.glob("*.toml")}
    if config_dir is not None and (config_dir / "procedures").is_dir():
        names |= {p.stem for p in (config_dir / "procedures").glob("*.toml")}
    return ["redflag_catalogue", "sanction_policy", *(f"procedure:{n}" for n in sorted(names))]


def current(name: str, config_dir: Path | None) -> Subject:
    """The subject's file in force now, checked; ReviewError when unknown or broken."""
    try:
        if name == "redflag_catalogue":
            local = None if config_dir is None else config_dir / "redflags_catalogue.toml"
            path = local if local is not None and local.is_file() else CATALOGUE
            load_catalogue(path)
            text = path.read_text(encoding="utf-8")
            return Subject(
                name,
                "Red flag catalogue",
                path,
                text,
                hashlib.sha256(text.encode()).hexdigest()[:12],
            )
        if name == "sanction_policy":
            path = policy_path(config_dir)
            version = load_policy(config_dir).version
            return Subject(name, "Sanction policy", path, path.read_text(encoding="utf-8"), version)
        if name.startswith("procedure:"):
            path = procedure_path(name.removeprefix("procedure:"), config_dir)
            text = path.read_text(encoding="utf-8")
            procedure = parse(text, str(path))
            return Subject(name, f"Procedure: {procedure.title}", path, text, procedure.version)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ReviewError(f"cannot approve {name}: {exc}") from exc
    raise ReviewError(f"unknown subject {name!r}: use one of {', '.join(subjects(config_dir))}")


def approve(
    stores: Stores,
    name: str,
    approved_by: str,
    approved_on: date,
    *,
    actor: str,
    note: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record the subject's current file as approved; ReviewError if that exact text is
    already in the log."""
    if not approved_by.strip():
        raise ReviewError("say who approved it (the board, the committee, the officer)")
    subject = current(name, stores.settings.hospital_config)
    at = (now or datetime.now()).replace(microsecond=0)
    if approved_on > at.date():
        raise ReviewError(f"the approval date {approved_on} is in the future")
    with stores.engine.begin() as conn:
        known = conn.execute(
            select(program_changes.c.approved_on).where(
                program_changes.c.subject == name, program_changes.c.sha256 == subject.sha256
            )
        ).scalar()
        if known is not None:
            raise ReviewError(f"this version of {name} was already approved on {known}")
        conn.execute(
            insert(program_changes).values(
                subject=name,
                version=subject.version,
                sha256=subject.sha256,
                content=subject.text,
                approved_by=approved_by.strip(),
                approved_on=approved_on,
                note=note.strip() or None,
                recorded_at=at,
                recorded_by=actor,
            )
        )
    return {"subject": name, "version": subject.version, "sha256": subject.sha256}


def _diff(old: str, new: str, old_label: str, new_label: str) -> list[str]:
    return list(
        difflib.unified_diff(
            old.splitlines(),
            new.splitlines(),
            fromfile=old_label,
            tofile=new_label,
            lineterm="",
            n=1,
        )
    )


def log(conn: Connection) -> list[dict[str, Any]]:
    """Every approval, newest first, each with the diff from the version approved before
    it (empty for a subject's first approval)."""
    rows = conn.execute(
        select(program_changes).order_by(program_changes.c.subject, program_changes.c.change_id)
    ).mappings()
    out: list[dict[str, Any]] = []
    previous: dict[str, dict[str, Any]] = {}
    for r in rows:
        before = previous.get(r["subject"])
        diff = (
            _diff(
                before["content"],
                r["content"],
                f"version {before['version']}",
                f"version {r['version']}",
            )
            if before
            else []
        )
        out.append(
            {k: v for k, v in r.items() if k != "content"}
            | {"title": title_of(r["subject"]), "diff": diff, "first": before is None}
        )
        previous[r["subject"]] = dict(r)
    return sorted(out, key=lambda e: (e["approved_on"], e["change_id"]), reverse=True)


def pending(stores: Stores) -> list[dict[str, Any]]:
    """The subjects whose file in force differs from the last approved version (or that
    were never approved), with the diff."""
    with stores.engine.connect() as conn:
        last: dict[str, Any] = {}
        for r in conn.execute(
            select(program_changes).order_by(program_changes.c.change_id)
        ).mappings():
            last[r["subject"]] = r
    out: list[dict[str, Any]] = []
    for name in subjects(stores.settings.hospital_config):
        try:
            now = current(name, stores.settings.hospital_config)
        except ReviewError as exc:
            out.append({"subject": name, "problem": str(exc), "diff": []})
            continue
        approved = last.get(name)
        if approved is None:
            out.append(
                {
                    "subject": name,
                    "title": now.title,
                    "version": now.version,
                    "never": True,
                    "diff": [],
                }
            )
        elif approved["sha256"] != now.sha256:
            diff = _diff(
                approved["content"],
                now.text,
                f"approved {approved['version']}",
                f"in force {now.version}",
            )
            out.append(
                {
                    "subject": name,
                    "title": now.title,
                    "version": now.version,
                    "never": False,
                    "diff": diff,
                }
            )
    return out
