"""Terminal output helpers: Rich progress for long work, one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

ProgressFn = Callable[[str, int, int], None]
stderr = Console(stderr=True)


class RateColumn(ProgressColumn):
    """Records per second of a task."""

    def render(self, task: Task) -> Text:
        """Show the task's speed."""
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "", style="cyan")


def _silent(stage: str, done: int, total: int) -> None:
    """Progress callback that shows nothing (non-terminal output, --json)."""


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[ProgressFn]:
    """A callback ``(stage, done, total)`` that drives a Rich progress display on stderr.

    With a ``total`` the bar is set to ``done`` of ``total``; with ``total`` 0 (unknown)
    ``done`` is added to the count and the bar shows records per second.
    """
    if not enabled:
        yield _silent
        return
    tasks: dict[str, TaskID] = {}
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr, disable=not stderr.is_terminal) as bar:

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            if total:
                bar.update(tasks[stage], completed=done, total=total)
            else:
                bar.advance(tasks[stage], done)

        yield update


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error on stderr and exit non-zero."""
    stderr.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(code)
