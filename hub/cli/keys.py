"""`hub keys init|check|rotate`: the administrator's key commands."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hub.cli.terminal import exit_on_error, settings_or_exit
from schemas.errors import ExitCode

if TYPE_CHECKING:
    from hub.settings import HubSettings

keys_app = typer.Typer(no_args_is_help=True, help="Create, check and rotate the hub's keys.")
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

# --- init / check (keys loading) ---


def _key_settings() -> HubSettings:
    return settings_or_exit(err)


@keys_app.command("init")
def keys_init() -> None:
    """Create the missing keys of a new home; refuses once the home holds data."""
    from hub.keys.config import init_keys

    settings = _key_settings()
    try:
        with exit_on_error(err):
            created = init_keys(settings)
    except OSError as exc:  # the keys folder cannot be made or written
        err.print(f"[red]refused:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(ExitCode.CONFIG) from None
    if created:
        out.print(f"created the {', '.join(created)} key(s); back them up now, apart from "
                  "the data (without them the data cannot be linked or revealed)",
                  markup=False)
    else:
        out.print("all four keys were already there and pass the checks: nothing created")
    out.print("`hub keys check` shows each key's source and fingerprint", markup=False)


@keys_app.command("check")
def keys_check(
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Each key's source, permissions and fingerprint (never the key); exit 1 on a problem."""
    from hub.keys.config import check_keys

    rows = check_keys(_key_settings())
    bad = [r for r in rows if r.problem]
    if as_json:
        out.print_json(json.dumps([asdict(r) for r in rows], ensure_ascii=False))
    else:
        table = Table("key", "source", "permissions", "fingerprint", "status")
        for r in rows:
            table.add_row(r.key, escape(r.source), r.permissions, r.fingerprint or "-",
                          "[red]problem[/]" if r.problem else "[green]ok[/]")
        out.print(table)
        for r in bad:
            err.print(f"[red]{r.key}:[/] {escape(r.problem or '')}", soft_wrap=True)
    if bad:
        raise typer.Exit(ExitCode.REFUSED)


# --- rotate (key rotation) ---

_AFTER = {
    "vault": "the old vault key is gone from {path}: destroy every backup of it, and replace "
             "backups of the keys folder and of the warehouse taken before now (their vault "
             "opens only with the old key). Restart `hub serve` so the API loads the new key.",
    "pseudonym": "the old pseudonym key is gone from {path}: destroy every backup of it, and "
                 "back up the keys folder again. Audit records keep the keys of their time; "
                 "the sealed key history links them to today's keys. Restart `hub serve` so "
                 "the API finds residents by ID number with the new key.",
}


def _print_summary(summary: dict[str, Any]) -> None:
    out.print(f"rotated the {summary['kind']} key (epoch {summary['epoch']})"
              + (", resumed after an interruption" if summary["resumed"] else "")
              + f"; new key fingerprint {summary['fingerprint']}", markup=False)
    table = Table("re-keyed / re-sealed", "rows")
    for name, rows in summary["counters"].items():
        table.add_row(name, str(rows))
    out.print(table)
    steps = Table("step", "seconds")
    for name, secs in summary["seconds"].items():
        steps.add_row(name, f"{secs:.2f}")
    steps.add_row("total", f"{sum(summary['seconds'].values()):.2f}")
    out.print(steps)
    out.print(_AFTER[summary["kind"]].format(path=summary["key_file"]), markup=False)


def _status(settings: HubSettings) -> None:
    from hub.keys import rotation_state
    from hub.warehouse.store import Warehouse

    with Warehouse(settings.warehouse_path, read_only=True) as wh:
        rows = rotation_state.history(wh.con)
    out.print_json(json.dumps(rows, default=str))


@keys_app.command("rotate")
def keys_rotate(
    kind: Annotated[str | None, typer.Argument(
        help="vault or pseudonym (optional with --resume, --abort, --status)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="finish a half-done rotation "
                                         "(also done automatically for the same kind)")] = False,
    abort: Annotated[bool, typer.Option("--abort", help="back out of a rotation that has not "
                                        "switched the warehouse yet")] = False,
    status: Annotated[bool, typer.Option("--status", help="list the rotations")] = False,
    chunk_residents: Annotated[int, typer.Option(min=10, help="residents per resumable chunk")]
    = 50_000,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Re-key the vault or the pseudonyms; resumable, holds the writer lock throughout."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from hub.rotation import run

    settings = _key_settings()
    if kind not in (None, "vault", "pseudonym") or (kind is None and not (resume or abort
                                                                          or status)):
        err.print("[red]error:[/] name the key to rotate: `vault` or `pseudonym`")
        raise typer.Exit(ExitCode.CONFIG)
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]
    seen: set[tuple[str, int]] = set()
    with exit_on_error(err, busy_hint="stop `hub serve` to rotate keys"):
        if status:
            _status(settings)
            return
        if abort:
            record = run.abort(settings)
            out.print(f"backed out of the {record.kind} key rotation (epoch {record.epoch}); "
                      "the current key stays in use and the new key file was deleted",
                      markup=False)
            return
        with Progress(*columns, console=err, transient=True,
                      disable=not err.is_terminal) as bar:
            task = bar.add_task("rotating", total=None)

            def progress(step: str, done: int, total: int | None) -> None:
                bar.update(task, description=step, completed=done, total=total)
                if not err.is_terminal and (step, done) not in seen:  # a log gets lines
                    seen.add((step, done))
                    err.print(f"rotate: {step} {done}/{total if total is not None else '?'}",
                              markup=False, highlight=False)

            summary = run.rotate(settings, kind, resume=resume, chunk_residents=chunk_residents,
                                 progress=progress)
    if as_json:
        out.print_json(json.dumps(summary.as_dict(), default=str))
    else:
        _print_summary(summary.as_dict())
