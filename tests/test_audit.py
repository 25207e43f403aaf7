"""phiwarden's own audit trail: appended entries chain, and any change or deletion shows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, update

from conftest import run_cli
from phiwarden.store.setup import Stores
from phiwarden.store.web_tables import audit_log
from phiwarden.web.audit import append, verify


def _fill(stores: Stores, n: int = 5) -> None:
    with stores.engine.begin() as conn:
        for i in range(n):
            append(
                conn,
                actor="alice",
                role="privacy_officer",
                action="read",
                object_type="patient",
                object_id=f"P{i}",
                source="127.0.0.1",
                detail={"via": "api", "n": i},
            )


def test_chain_verifies(stores: Stores) -> None:
    assert verify(stores.engine).ok and verify(stores.engine).entries == 0
    _fill(stores)
    verdict = verify(stores.engine)
    assert verdict.ok and verdict.entries == 5


def test_a_changed_entry_is_found(stores: Stores) -> None:
    _fill(stores)
    with stores.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(actor="mallory"))
    verdict = verify(stores.engine)
    assert not verdict.ok and verdict.broken_at == 3 and "changed" in (verdict.reason or "")


def test_a_deleted_entry_is_found(stores: Stores) -> None:
    _fill(stores)
    with stores.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 2))
    verdict = verify(stores.engine)
    assert not verdict.ok and verdict.broken_at == 2 and "missing" in (verdict.reason or "")


def test_a_rewritten_chain_tail_is_found(stores: Stores) -> None:
    """Changing an entry and recomputing its own hash still breaks the next link."""
    _fill(stores)
    from phiwarden.web.audit import entry_hash

    with stores.engine.begin() as conn:
        row = conn.execute(audit_log.select().where(audit_log.c.seq == 2)).mappings().one()
        forged = {**dict(row), "object_id": "P999"}
        conn.execute(
            update(audit_log)
            .where(audit_log.c.seq == 2)
            .values(object_id="P999", hash=entry_hash(row["prev_hash"], forged))
        )
    verdict = verify(stores.engine)
    assert not verdict.ok and verdict.broken_at == 3


def test_cli_verify_exits_non_zero_when_broken(tmp_path: Path, stores: Stores) -> None:
    _fill(stores)
    ok = run_cli(stores, "audit", "verify")
    assert ok.returncode == 0 and "5 entries" in ok.stdout
    with stores.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 4))
    bad = run_cli(stores, "audit", "verify")
    assert bad.returncode == 1 and "entry 4 is missing" in bad.stderr


def test_concurrent_appends_from_threads_and_processes_keep_one_chain(stores: Stores) -> None:
    # a server runs requests on a thread pool, and may run several worker processes:
    # every append must read the head of the chain it extends
    from concurrent.futures import ThreadPoolExecutor

    from phiwarden.store.db import make_engine

    def burst(n: int) -> None:
        engine = make_engine(stores.settings.database_url)  # a process of its own
        try:
            for i in range(n):
                with engine.begin() as conn:
                    append(
                        conn,
                        actor=f"u{i}",
                        role="auditor",
                        action="read",
                        object_type="alert",
                        object_id=str(i),
                        source="t",
                    )
        finally:
            engine.dispose()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(burst, [25] * 8))
    verdict = verify(stores.engine)
    assert verdict.ok and verdict.entries == 200, verdict
