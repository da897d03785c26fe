"""What every CLI command module shares: settings or a clean exit, project errors as one line
and their exit code, and the progress bar.

Every project error carries its exit code (schemas.errors.ExitCode, the table in README.md):
commands do not map errors themselves. The progress bar shows on a terminal only; pipes and
logs stay quiet."""

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
from schemas.errors import DataHubError, ExitCode

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


_LABELS = {ExitCode.REFUSED: "refused", ExitCode.BAD_INPUT: "bad input",
           ExitCode.BUSY: "busy", ExitCode.CONFIG: "error"}


@contextmanager
def exit_on_error(console: Console, busy_hint: str = "") -> Iterator[None]:
    """A project error becomes one line (its message names the next step) and its exit code,
    never a traceback. `busy_hint` adds what this command's busy case calls for."""
    try:
        yield
    except DataHubError as exc:
        code = ExitCode(exc.exit_code)
        hint = f" ({busy_hint})" if busy_hint and code == ExitCode.BUSY else ""
        console.print(f"[red]{_LABELS.get(code, 'error')}:[/] {escape(str(exc))}{hint}",
                      soft_wrap=True)
        raise typer.Exit(int(code)) from None


def settings_or_exit(console: Console) -> HubSettings:
    """The settings from the environment, or a one-line message and exit code 4."""
    try:
        return HubSettings()
    except ValueError as exc:  # pydantic's message names the variable and the rule
        console.print(f"[red]configuration error:[/] {escape(str(exc))}")
        raise typer.Exit(ExitCode.CONFIG) from None
