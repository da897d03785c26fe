"""The progress bar every long CLI command shows (on a terminal only; quiet in pipes and logs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

ProgressCallback = Callable[[str, int, "int | None"], None]


@contextmanager
def progress_bar(console: Console, label: str) -> Iterator[ProgressCallback]:
    """A callback `(stage, done, total)` that draws `label: stage` and the count."""
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=None)

        def update(stage: str, done: int, total: int | None) -> None:
            bar.update(task, description=f"{label}: {stage}", completed=done, total=total)

        yield update
