"""The two state transitions the upload, export and batch-decision queues share.

Every queue is rows in the state store with a `status`, `created_at`, `started_at`,
`finished_at` and `reason`; one pipeline worker claims them oldest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, select, update

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


def claim_oldest(engine: Engine, table: Table) -> dict[str, Any] | None:
    """Mark the oldest queued row running and return it; None when none is queued or another
    claimer took it first (the update is conditional on the row still being queued)."""
    key = _key(table)
    with engine.begin() as conn:
        row = conn.execute(select(table).where(table.c.status == QUEUED)
                           .order_by(table.c.created_at).limit(1)).first()
        if row is None:
            return None
        claimed = conn.execute(update(table).where(key == row._mapping[key.name],
                                                   table.c.status == QUEUED)
                               .values(status=RUNNING, started_at=datetime.now(UTC)))
        if claimed.rowcount != 1:
            return None
    return {**row._mapping, "status": RUNNING}


def mark_failed(engine: Engine, table: Table, job_id: str, reason: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(table).where(_key(table) == job_id)
                     .values(status=FAILED, reason=reason, finished_at=datetime.now(UTC)))


def _key(table: Table) -> Any:
    """The queue's id column: its one-column primary key."""
    (column,) = table.primary_key.columns
    return column
