"""`hub user ...`: console accounts (people log in with a name and password; programs use
tokens). Passwords are read from standard input only, never from the command line, where
they would land in the shell history and the process list. Every change is in the audit log
(`cli.admin.user.*`, hub.cli.operator_audit).

Exit codes: 0 done; 1 the user is unknown or exists already; 2 no or a refused password;
4 configuration error (the error's own code, README.md has the table).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.operator_audit import audited_change
from hub.cli.terminal import exit_on_error, settings_or_exit
from hub.security.roles import Role
from hub.state.migrate import open_state_store
from schemas.errors import ExitCode

if TYPE_CHECKING:  # the console's stores bring the web app: load them only when a command runs
    from hub.web.accounts import UserStore

user_app = typer.Typer(add_completion=False, no_args_is_help=True,
                       help="Console users: create, list, disable, reset a password.")
console = Console(stderr=True)
out = Console(highlight=False)



@contextmanager
def _users() -> Iterator[UserStore]:
    from hub.web.state import stores

    settings = settings_or_exit(console)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with exit_on_error(console):
        engine = open_state_store(settings.resolved_state_url)
        try:
            yield stores(engine, settings)[0]
        finally:
            engine.dispose()


def _end_sessions(name: str) -> None:
    from hub.web.state import stores

    settings = settings_or_exit(console)
    with exit_on_error(console):
        engine = open_state_store(settings.resolved_state_url)
        try:
            stores(engine, settings)[1].end_all(name)
        finally:
            engine.dispose()


def _password(password_stdin: bool) -> str:
    """The password from the first line of standard input, never from the command line."""
    if not password_stdin:
        console.print("[red]error:[/] give --password-stdin and the password on standard input")
        raise typer.Exit(ExitCode.BAD_INPUT)
    text = sys.stdin.readline().rstrip("\r\n")
    if not text:
        console.print("[red]error:[/] no password on standard input "
                      "(e.g. `printf '%s\\n' \"$PW\" | hub user create ... --password-stdin`)")
        raise typer.Exit(ExitCode.BAD_INPUT)
    return text


PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="read the password from the first line of standard input")]


@user_app.command("create")
def create_user(
    name: Annotated[str, typer.Option("--name", help="login name")],
    role: Annotated[Role, typer.Option("--role", help="the same roles as API tokens")],
    password_stdin: PasswordStdin = False,
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="street codes (street_office) or datasets (department); repeatable "
                        "or comma-separated")] = None,
) -> None:
    """Create a console user; the password comes from standard input."""
    password = _password(password_stdin)
    settings = settings_or_exit(console)
    with _users() as users, audited_change(settings, "user.create", {
            "user": name, "role": role.value, "scope": ",".join(scope or [])}):
        user = users.create(name, role, scope or [], password)
    out.print(f"created user {user.name} ({user.role.value}, scope "
              f"{','.join(user.scope) or '-'})")


@user_app.command("list")
def list_users() -> None:
    """Every console user: role, scope, language, locked or disabled (never a password)."""
    with _users() as users:
        rows = users.list()
    table = Table("name", "role", "scope", "language", "created", "state")
    for r in rows:
        state = "disabled" if r["disabled_at"] else "locked" if r["locked"] else "active"
        table.add_row(r["name"], r["role"], ",".join(r["scope"]) or "-", r["locale"],
                      r["created_at"], state)
    out.print(table)


@user_app.command("disable")
def disable_user(name: Annotated[str, typer.Argument(help="login name")]) -> None:
    """Disable a user and end every session of it at once."""
    with _users() as users, audited_change(settings_or_exit(console), "user.disable",
                                           {"user": name}):
        users.disable(name)
    _end_sessions(name)
    out.print(f"disabled user {name}; its sessions are ended")


@user_app.command("reset-password")
def reset_password(
    name: Annotated[str, typer.Argument(help="login name")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password (from standard input); unlocks the account, ends its sessions."""
    password = _password(password_stdin)
    with _users() as users, audited_change(settings_or_exit(console), "user.reset_password",
                                           {"user": name}):
        users.reset_password(name, password)
    _end_sessions(name)
    out.print(f"new password set for {name}; the account is unlocked, its sessions ended")
