"""The evidence an investigation is decided on, frozen when it opens.

A snapshot holds the workforce member's accesses in the window (every event from the
lake), each opening with the template that explained it (or none), the alerts with their
reasons and evidence, and the personal relationships the detectors found. It is stored as
canonical JSON, encrypted, as one of the case's documents with its SHA-256: later ingests
change the lake and the store, not what was decided on, and :func:`verify` shows it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from phiwarden.cases.effects import Ctx
from phiwarden.lake.engine import open_backend
from phiwarden.lake.reader import access_events
from phiwarden.monitor.catalogue import BY_CODE as DETECTORS
from phiwarden.monitor.config import load_config
from phiwarden.monitor.context import Window, build_context
from phiwarden.monitor.explain import TEMPLATES, explain
from phiwarden.store.case_tables import case_documents
from phiwarden.store.monitor_tables import alerts
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

KIND = "evidence_snapshot"
_TEMPLATE_OF_RANK = dict(enumerate(TEMPLATES))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def canonical(content: dict[str, Any]) -> bytes:
    """The snapshot's bytes: sorted keys, no spaces, ISO dates (what the hash is of)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=_plain).encode()


def _accesses(stores: Stores, user_id: str, since: date, until: date) -> list[dict[str, Any]]:
    with open_backend(stores.settings.with_engine("duckdb")) as con:
        e = access_events(con, stores.settings.lake_dir, since, until)
        e = e.filter(e.user_id == user_id).order_by(["ts", "event_id"])
        rows = e.to_pyarrow().to_pylist()
    return [{k: _plain(v) for k, v in r.items() if v is not None} for r in rows]


def _openings(stores: Stores, user_id: str, since: date, until: date) -> list[dict[str, Any]]:
    """The user's openings (user, patient, hour) with what explained each, as monitoring
    would find it over the same window."""
    config = load_config(stores.settings.data_dir)
    with open_backend(stores.settings.with_engine("duckdb")) as con:
        ctx = build_context(stores, con, Window(since, until), config)
        out = explain(ctx)
        out = out.filter(out.user_id == user_id).order_by(["hour", "patient_id"])
        rows = out.select("patient_id", "hour", "accesses", "first", "last", "rank")
        found = rows.to_pyarrow().to_pylist()
    return [
        {
            "patient_id": r["patient_id"],
            "hour": _plain(r["hour"]),
            "accesses": int(r["accesses"]),
            "first": _plain(r["first"]),
            "last": _plain(r["last"]),
            "explained_by": _TEMPLATE_OF_RANK.get(int(r["rank"]))
            if r["rank"] is not None
            else None,
        }
        for r in found
    ]


def _alerts(conn: Connection, alert_ids: list[str]) -> list[dict[str, Any]]:
    if not alert_ids:
        return []
    rows = conn.execute(
        select(alerts).where(alerts.c.alert_id.in_(alert_ids)).order_by(alerts.c.window_start)
    ).mappings()
    return [
        {
            k: _plain(r[k])
            for k in ("alert_id", "window_start", "window_end", "score", "status", "reasons")
        }
        | {"patient_ids": list(r["patient_ids"]), "accesses": int(r["accesses"])}
        for r in rows
    ]


def _relationships(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for alert in found:
        for reason in alert["reasons"]:
            detector = DETECTORS.get(str(reason.get("code")))
            if detector is None or not detector.relationship:
                continue
            for hit in reason.get("evidence", []):
                out.append(
                    {
                        "patient_id": str(hit.get("patient_id")),
                        "kind": detector.title,
                        "detail": hit.get("detail", ""),
                    }
                )
    return out


def take(
    stores: Stores, user_id: str, since: date, until: date, alert_ids: list[str], now: datetime
) -> dict[str, Any]:
    """The snapshot's content, read now from the lake and the store."""
    w = domain_table("workforce")
    with stores.engine.connect() as conn:
        member = conn.execute(select(w).where(w.c.user_id == user_id)).mappings().first()
        found = _alerts(conn, alert_ids)
    accesses = _accesses(stores, user_id, since, until)
    return {
        "taken_at": now.isoformat(),
        "window": {"since": since.isoformat(), "until": until.isoformat()},
        "user": {
            k: _plain(member[k]) if member else None
            for k in ("user_id", "first_name", "last_name", "role", "department_id", "manager_id")
        }
        | {"user_id": user_id},
        "accesses": accesses,
        "patients": sorted({a["patient_id"] for a in accesses}),
        "openings": _openings(stores, user_id, since, until),
        "alerts": found,
        "relationships": _relationships(found),
    }


def store(ctx: Ctx, content: dict[str, Any]) -> str:
    """Keep the snapshot on the case (encrypted, with its SHA-256); the digest."""
    data = canonical(content)
    digest = hashlib.sha256(data).hexdigest()
    user, window = content["user"]["user_id"], content["window"]
    ctx.conn.execute(
        insert(case_documents).values(
            case_id=ctx.case_id,
            kind=KIND,
            filename=f"evidence-{user}-{window['since']}-{window['until']}.json",
            media_type="application/json",
            size=len(data),
            sha256=digest,
            content_encrypted=ctx.stores.protector.fernet.encrypt(data),
            uploaded_at=ctx.now,
            uploaded_by=ctx.actor,
        )
    )
    ctx.case["details"] = {**ctx.case["details"], "evidence_sha256": digest}
    ctx.event(
        "evidence",
        f"Evidence frozen: {len(content['accesses'])} access(es) to "
        f"{len(content['patients'])} patient(s), {len(content['alerts'])} alert(s); "
        f"SHA-256 {digest[:16]}",
        detail={"sha256": digest, "size": len(data)},
    )
    return digest


@dataclass(frozen=True)
class Verdict:
    """Whether the stored snapshot is the one the case recorded, and its content."""

    ok: bool
    recorded: str
    computed: str
    content: dict[str, Any]


def load(stores: Stores, case_id: str) -> Verdict:
    """The case's snapshot, decrypted, with its hash recomputed against the recorded one
    (the case's details and the document row must both agree with the bytes)."""
    from phiwarden.store.case_tables import case_files

    with stores.engine.connect() as conn:
        row = conn.execute(
            select(case_documents.c.sha256, case_documents.c.content_encrypted)
            .where(case_documents.c.case_id == case_id, case_documents.c.kind == KIND)
            .order_by(case_documents.c.document_id)
        ).first()
        details = conn.execute(
            select(case_files.c.details).where(case_files.c.case_id == case_id)
        ).scalar()
    if row is None:
        raise LookupError(f"case {case_id} has no evidence snapshot")
    data = stores.protector.fernet.decrypt(row.content_encrypted)
    computed = hashlib.sha256(data).hexdigest()
    recorded = str((details or {}).get("evidence_sha256") or "")
    ok = computed == row.sha256 == recorded
    return Verdict(ok, recorded, computed, json.loads(data))
