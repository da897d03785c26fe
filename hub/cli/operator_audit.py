"""Changes made from the command line to who may do what go into the audit log, as the
console's do: a user created, disabled or given a new password, a token created or revoked.

The actor is the operating-system account that ran the command (`cli:<account>`), acting as
an administrator: whoever can run `hub` on the server holds the home's keys. Records name the
account or token by its id; a password or token never reaches them.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hub.settings import HubSettings
from schemas.errors import DataHubError

ROLE = "admin"


def operator() -> str:
    """`cli:` and the account that runs the command (`cli:unknown` where there is none)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER, as in some containers
        return "cli:unknown"


def record(settings: HubSettings, action: str, outcome: str, detail: dict[str, Any]) -> None:
    """One record `cli.admin.<action>`; AuditWriteFailed (exit 4) if it could not be written."""
    from hub.audit.log import AuditLog
    from hub.state.migrate import open_state_store

    engine = open_state_store(settings.resolved_state_url)
    try:
        AuditLog(engine, synchronous=settings.audit.synchronous).append(
            action=f"cli.admin.{action}", outcome=outcome, actor=operator(), role=ROLE,
            detail=detail)
    finally:
        engine.dispose()


@contextmanager
def audited_change(settings: HubSettings, action: str,
                   detail: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Records the change when the block ends: outcome `ok` with `detail` (the block may add
    to it, such as the id of a new token), or `refused:<problem>` when a hub error ends it.
    An outcome the block decides itself (an unknown token) it records with `record`."""
    try:
        yield detail
    except DataHubError as exc:
        record(settings, action, f"refused:{exc.slug}", {})
        raise
    record(settings, action, "ok", detail)
