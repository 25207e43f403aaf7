"""Measuring helpers shared by the benchmarks."""

from __future__ import annotations

import threading

import psutil


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
