"""Breach scans and letters started from the API or the pages run in a background thread
of the server, so a large mailbox or 30,000 letters never hold a request open; a scan's
progress is in the store (``breach_sources``), and each job ends with a line in the
incident's timeline.

Only what is under the evidence folder (``PHIWARDEN_EVIDENCE_DIR``) can be scanned from
the web: a path that leaves it is refused. A scan interrupted by a restart is
resumed by starting it again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from phiwarden.store.setup import Stores

log = logging.getLogger(__name__)
_RUNNING: dict[str, threading.Thread] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ScanRequest:
    """What to scan for an incident from the web."""

    paths: tuple[str, ...] = ()
    population_user: str | None = None
    since: date | None = None
    until: date | None = None
    people_list: str | None = None


def evidence_path(stores: Stores, relative: str) -> Path:
    """A path under the evidence folder, or a ValueError that says what to do."""
    root = stores.settings.evidence_dir.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise ValueError(f"{relative!r} is outside the evidence folder {root}")
    if not target.exists():
        raise FileNotFoundError(
            f"{relative!r} is not in the evidence folder {root}: copy the export there first"
        )
    return target


def evidence_items(stores: Stores) -> list[str]:
    """What the evidence folder holds (its top level), for the scan form."""
    root = stores.settings.evidence_dir
    if not root.is_dir():
        return []
    return sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())


def running(incident_id: str) -> bool:
    """True while a scan started from the web runs for the incident."""
    with _LOCK:
        thread = _RUNNING.get(incident_id)
        return thread is not None and thread.is_alive()


def start_scan(stores: Stores, incident_id: str, request: ScanRequest, actor: str) -> None:
    """Check the request, then scan in a background thread (one per incident at once)."""
    from phiwarden.breach.scan import require_incident

    require_incident(stores, incident_id)
    paths = [evidence_path(stores, p) for p in request.paths]
    people_list = evidence_path(stores, request.people_list) if request.people_list else None
    if request.population_user and not (request.since and request.until):
        raise ValueError("a monitoring population needs the first and last day")
    if not paths and not people_list and not request.population_user:
        raise ValueError("choose a mailbox or folder, a user's population, or a list")
    with _LOCK:
        if incident_id in _RUNNING and _RUNNING[incident_id].is_alive():
            raise ValueError(f"a scan of {incident_id} is already running: wait for it")
        thread = threading.Thread(
            target=_run,
            args=(stores, incident_id, paths, request, people_list, actor),
            name=f"scan-{incident_id}",
            daemon=True,
        )
        _RUNNING[incident_id] = thread
        thread.start()


def wait(incident_id: str, timeout: float | None = None) -> None:
    """Wait for the incident's web scan to end (tests, shutdown)."""
    with _LOCK:
        thread = _RUNNING.get(incident_id)
    if thread is not None:
        thread.join(timeout)


def _run(
    stores: Stores,
    incident_id: str,
    paths: list[Path],
    request: ScanRequest,
    people_list: Path | None,
    actor: str,
) -> None:
    from phiwarden.breach.lists import add_list, add_population
    from phiwarden.breach.scan import scan_paths

    try:
        if paths:
            scan_paths(stores, incident_id, paths, actor=actor)
        if request.population_user and request.since and request.until:
            add_population(
                stores,
                incident_id,
                request.population_user,
                request.since,
                request.until,
                actor=actor,
            )
        if people_list:
            add_list(stores, incident_id, people_list, actor=actor)
    except Exception as exc:  # said in the incident's timeline; the server goes on
        from phiwarden.cases.engine import change

        log.error("the scan of %s failed: %s", incident_id, type(exc).__name__)
        message = f"Scan failed: {' '.join(str(exc).split())[:300]}"
        change(stores, incident_id, None, actor, lambda ctx: ctx.event("scan", message))


def start_letters(
    stores: Stores, incident_id: str, out_dir: Path, language: str, actor: str
) -> None:
    """Write an incident's letters in a background thread (one job per incident at once)."""
    from phiwarden.breach.incident import get_incident

    with stores.engine.connect() as conn:
        incident = get_incident(conn, incident_id)
    if incident is None:
        raise LookupError(f"no incident {incident_id}")
    if not incident["case"]["details"].get("decision"):
        raise ValueError(f"{incident_id} has no breach decision yet: record it first")
    with _LOCK:
        key = f"letters:{incident_id}"
        if key in _RUNNING and _RUNNING[key].is_alive():
            raise ValueError(f"the letters of {incident_id} are being written: wait for them")
        thread = threading.Thread(
            target=_letters, args=(stores, incident, out_dir, language, actor), daemon=True
        )
        _RUNNING[key] = thread
        thread.start()


def _letters(
    stores: Stores, incident: dict[str, object], out_dir: Path, language: str, actor: str
) -> None:
    from phiwarden.breach.hhs import hospital
    from phiwarden.breach.letters import prepare
    from phiwarden.breach.mailing import record_letters, write
    from phiwarden.cases.engine import change

    incident_id = str(incident["incident"])
    config = stores.settings.hospital_config
    try:
        with stores.engine.connect() as conn:
            batch = prepare(conn, incident, stores.protector, config=config, language=language)
        done = write(batch, out_dir, hospital(config)["covered_entity"], date.today(), workers=1)
        record_letters(stores.engine, incident_id, batch)
        message = (
            f"Letters written: {done['letters']:,} ({done['credit_monitoring']:,} with credit "
            f"monitoring), {done['insufficient']:,} without a usable address"
        )
    except Exception as exc:
        log.error("the letters of %s failed: %s", incident_id, type(exc).__name__)
        message = f"Letters failed: {' '.join(str(exc).split())[:300]}"
    change(stores, incident_id, None, actor, lambda ctx: ctx.event("letters", message))


def letters_running(incident_id: str) -> bool:
    """True while an incident's letters are being written."""
    with _LOCK:
        thread = _RUNNING.get(f"letters:{incident_id}")
        return thread is not None and thread.is_alive()
