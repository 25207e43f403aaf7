"""The audit trail's head is anchored outside the database: every N entries, on demand,
when the server stops, to a file or a syslog collector; verify finds a truncated tail (the
chain alone cannot) and a changed anchored entry."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, text

from conftest import run_cli
from phiwarden.store.setup import Stores
from phiwarden.store.web_tables import audit_log
from phiwarden.web import audit_anchor
from phiwarden.web.api.deps import Caller, record
from phiwarden.web.app import create_app
from phiwarden.web.audit import verify


def _fill(stores: Stores, n: int) -> None:
    caller = Caller("alice", "privacy_officer", "127.0.0.1")
    for i in range(n):
        record(stores, caller, "read", "patient", f"P{i}", {"n": i})


def test_a_truncated_tail_is_found_through_the_anchors(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHIWARDEN_AUDIT_ANCHOR_EVERY", "3")
    monkeypatch.delenv("PHIWARDEN_AUDIT_ANCHOR", raising=False)
    _fill(stores, 7)
    where = Path(audit_anchor.target(stores.settings))
    assert [a.seq for a in audit_anchor.read(where)] == [3, 6]
    ok = run_cli(stores, "audit", "anchor")
    assert ok.returncode == 0 and "anchored entry 7" in ok.stdout
    good = run_cli(stores, "audit", "verify")
    assert good.returncode == 0 and "7 entries, 3 anchor(s) matched" in good.stdout
    # cut the tail: the chain that is left is still a valid chain ...
    with stores.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq > 4))
    assert verify(stores.engine).ok
    # ... but the anchors know the log reached entry 7
    bad = run_cli(stores, "audit", "verify")
    assert bad.returncode == 1
    assert "truncated: the log ends at entry 4" in bad.stderr and "recorded entry 6" in bad.stderr
    # emptying the whole table is a truncation too
    with stores.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE audit_log"))
        else:
            conn.execute(delete(audit_log))
    gone = run_cli(stores, "audit", "verify", "--json")
    assert (
        gone.returncode == 1
        and '"broken_at": 1' in gone.stdout
        and "ends at entry 0" in gone.stdout
    )


def test_an_anchored_entry_rewritten_is_found(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PHIWARDEN_AUDIT_ANCHOR", raising=False)
    _fill(stores, 3)
    audit_anchor.anchor(stores.engine, stores.settings, "test")
    with stores.engine.begin() as conn:
        conn.execute(audit_log.update().where(audit_log.c.seq == 3).values(hash="0" * 64))
    found = audit_anchor.check(
        stores.engine, audit_anchor.read(Path(audit_anchor.target(stores.settings)))
    )
    assert found.problem is not None and "entry 3 differs from its anchor" in found.problem


def test_anchors_go_to_a_syslog_collector(
    stores: Stores, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    collector.bind(("127.0.0.1", 0))
    collector.settimeout(5)
    port = collector.getsockname()[1]
    monkeypatch.setenv("PHIWARDEN_AUDIT_ANCHOR", f"syslog://127.0.0.1:{port}")
    try:
        _fill(stores, 2)
        made = audit_anchor.anchor(stores.engine, stores.settings, "cron")
        datagram = collector.recv(65536).decode()
    finally:
        collector.close()
    assert made is not None and audit_anchor.MARK in datagram and '"seq": 2' in datagram
    export = tmp_path / "collector.log"
    export.write_text(f"Dec  5 10:00:00 host {datagram}\nan unrelated line\n")
    ok = run_cli(stores, "audit", "verify", "--anchors", str(export))
    assert ok.returncode == 0 and "1 anchor(s) matched" in ok.stdout
    with stores.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 2))
    bad = run_cli(stores, "audit", "verify", "--anchors", str(export))
    assert bad.returncode == 1 and "truncated" in bad.stderr


def test_the_server_anchors_when_it_stops(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHIWARDEN_AUDIT_ANCHOR", raising=False)
    _fill(stores, 2)
    with TestClient(create_app(stores, tick_seconds=None)) as client:
        assert client.get("/health").status_code == 200
    anchors = audit_anchor.read(Path(audit_anchor.target(stores.settings)))
    assert anchors and anchors[-1].reason == "shutdown" and anchors[-1].seq == 2
