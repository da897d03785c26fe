"""`hub access-report`: who looked at a resident's data (the resident's right to know).

The ID number is best given as `--id-number -` (read from stdin) or typed at the hidden
prompt (option left out): a number on the command line stays in the shell history and is
visible to every user in `ps`. The report itself is recorded in the audit log (actor
`cli:<user>`) before it is printed. Exit codes: 0 done; 2 not a valid ID number; 4
configuration error (keys, state store, audit log).
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.terminal import exit_on_error, settings_or_exit
from hub.security.purposes import ACCESS_REPORT_PURPOSE

if TYPE_CHECKING:  # pandas, DuckDB, SQLAlchemy: loaded only when the command runs
    from hub.vault.access_report import AccessReport

ACCESS_REPORT_ACTION = "access_report"
console = Console(stderr=True)
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _read_id(id_number: str | None) -> str:
    if id_number == "-":
        return sys.stdin.readline().strip()
    if id_number is None:
        if sys.stdin.isatty():
            return str(typer.prompt("resident ID number", hide_input=True)).strip()
        return sys.stdin.readline().strip()
    return id_number.strip()


def _cli_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = "unknown"
    return f"cli:{user}"


def _print_table(report: AccessReport) -> None:
    table = Table(title=f"{len(report.events)} accesses", show_lines=False)
    for column in ("when (UTC)", "actor", "role", "action", "purpose", "outcome", "about"):
        table.add_column(column)
    for e in report.events:
        about = e.subject + (" (earlier pseudonym)" if e.earlier_key else "")
        table.add_row(e.at[:19].replace("T", " "), e.actor, e.role, e.action, e.purpose or "-",
                      e.outcome, about)
    out.print(table)
    if not report.history_available:
        console.print("[yellow]note:[/] no vault store yet (nothing published): records made "
                      "under earlier pseudonyms could not be included")


def access_report_command(
    id_number: Annotated[str | None, typer.Option(
        "--id-number", help="the resident's ID number; `-` reads it from stdin, leaving it "
                            "out prompts for it without echo (both keep it out of the shell "
                            "history and `ps`)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
) -> None:
    """Who looked at a resident's data, when, for what purpose (including refusals)."""
    from hub.audit.log import AuditLog
    from hub.state.migrate import open_state_store
    from hub.vault.access_report import build_access_report

    settings = settings_or_exit(console)
    raw = _read_id(id_number)
    with exit_on_error(console):  # an invalid ID number exits 2, the store or keys 4
        engine = open_state_store(settings.resolved_state_url)
        try:
            audit = AuditLog(engine, synchronous=settings.audit.synchronous)
            report = build_access_report(settings, raw, engine=engine)
            # Recorded before anything is shown: no record, no data.
            audit.append(actor=_cli_actor(), role="admin", scope=[],
                         action=ACCESS_REPORT_ACTION, purpose=ACCESS_REPORT_PURPOSE,
                         resident_key=report.resident_key, outcome="granted",
                         detail={"events": len(report.events)})
        finally:
            engine.dispose()
    if as_json:
        typer.echo(json.dumps({
            "events": [e.as_dict() for e in report.events],
            "resident_keys_searched": report.resident_keys,
            "household_keys_searched": report.household_keys,
            "history_available": report.history_available}, ensure_ascii=False, indent=2))
        return
    _print_table(report)
