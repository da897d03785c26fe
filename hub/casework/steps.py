"""Every step of the loops leaves two records: a line in the item's history (casework_events,
what the pages show) and a record in the hash-chained audit log (what the auditor trusts).

The step's own rows are written first, in one transaction with its history line; the audit
record follows at once. If the audit log cannot be written the caller gets the error and the
step shows in the history without its audit record, which `hub audit verify` does not hide.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from hub.audit.log import AuditLog
from hub.security.roles import Principal
from hub.state.casework_tables import casework_events

SYSTEM_ACTOR = "hub:casework"


def now() -> datetime:
    return datetime.now(UTC)


def actor_of(principal: Principal | None) -> str:
    return principal.actor if principal is not None else SYSTEM_ACTOR


class Steps:
    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self.engine = engine
        self.audit = audit

    def history(self, conn: Connection, kind: str, item_id: str, action: str,
                principal: Principal | None, detail: dict[str, Any] | None = None) -> None:
        conn.execute(insert(casework_events).values(
            item_kind=kind, item_id=item_id, action=action, actor=actor_of(principal),
            at=now(), detail=detail or {}))

    def audit_step(self, kind: str, item_id: str, action: str, principal: Principal | None,
                   resident_key: str | None = None, purpose: str | None = None,
                   detail: dict[str, Any] | None = None, outcome: str = "done") -> None:
        fields: dict[str, Any] = {"action": f"{kind}.{action}", "outcome": outcome,
                                  "resident_key": resident_key, "purpose": purpose,
                                  "detail": {"id": item_id, **(detail or {})}}
        if principal is not None:
            fields["principal"] = principal
        else:
            fields.update(actor=SYSTEM_ACTOR, role="system", scope="")
        self.audit.append(**fields)

    def events(self, kind: str, item_id: str) -> list[dict[str, Any]]:
        t = casework_events
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.action, t.c.actor, t.c.at, t.c.detail)
                                .where(t.c.item_kind == kind, t.c.item_id == item_id)
                                .order_by(t.c.event_id)).all()
        return [{"action": r.action, "actor": r.actor, "at": _iso(r.at),
                 "detail": r.detail or {}} for r in rows]


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return value


def row_dict(row: Any) -> dict[str, Any]:
    """A table row as JSON-ready values (dates and times as ISO text)."""
    out = {}
    for key, value in row._mapping.items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") and not isinstance(
            value, datetime) else _iso(value)
    return out
