"""What every CLI command module shares: settings or a clean exit, and the progress bar.

The progress bar shows on a terminal only; pipes and logs stay quiet."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from hub.settings import HubSettings

EXIT_CONFIG = 4  # the same code in every command: the settings or the keys are wrong
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


def settings_or_exit(console: Console) -> HubSettings:
    """The settings from the environment, or a one-line message and exit code 4."""
    try:
        return HubSettings()
    except ValueError as exc:  # pydantic's message names the variable and the rule
        console.print(f"[red]configuration error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_CONFIG) from None
