"""Measuring helpers shared by the benchmarks."""

from __future__ import annotations

import os
import resource
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

#: the PostgreSQL server the benchmarks use (the tests' one): libpq key=value form
PG_ADMIN = os.environ.get(
    "PHIWARDEN_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)


class PeakRss:
    """Samples resident memory in a thread; ``peak`` is the largest seen (bytes).

    With ``children`` the RSS of child processes (Spark's JVM, a receiver) is added.
    """

    def __init__(self, every: float = 0.02, *, children: bool = False) -> None:
        self.peak = 0
        self._every = every
        self._children = children
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, me: psutil.Process) -> int:
        procs = [me, *me.children(recursive=True)] if self._children else [me]
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample(me))
            self._stop.wait(self._every)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class CpuTime:
    """CPU seconds (user and system) spent in a block by this process and by the child
    processes that ended in it (the SQLite readers): on a machine with few cores a run is
    bound by the work it does, not by what it overlaps, so this is printed beside the wall
    time."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @staticmethod
    def _now() -> float:
        me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    def __enter__(self) -> CpuTime:
        self._start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = self._now() - self._start


@contextmanager
def scratch_database(kind: str, folder: Path) -> Iterator[str]:
    """A store URL for one benchmark: a SQLite file in ``folder``, or a new PostgreSQL
    database on the local server, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'store.db'}"
        return
    if kind != "postgres":
        raise SystemExit(f"unknown database {kind!r}: use sqlite or postgres")
    import psycopg

    name = f"phiwarden_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in PG_ADMIN.split())
    try:
        yield (
            f"postgresql+psycopg://{params.get('user', 'postgres')}@"
            f"{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{name}"
        )
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
