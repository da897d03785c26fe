"""The linkage review queue in the state store, as the API and the console read and decide it.

An item is a department row without a usable ID and the registry resident it most probably
belongs to, with masked values side by side and the comparison level that decided each field
(hub.pipeline.linkage writes them). The owning department's data steward accepts or rejects
it; the pipeline worker carries the decision out before its next publish (accepted: the row's
facts join the resident, linked by review; rejected: the row stays quarantined).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, update

from hub.errors import HubError
from hub.state.tables import linkage_reviews
from schemas.errors import ExitCode

OPEN, ACCEPTED, REJECTED = "open", "accepted", "rejected"
STATUSES = (OPEN, ACCEPTED, REJECTED)


class ReviewAlreadyDecided(HubError):
    """A second decision on a review item: the first one stands."""

    status = 409
    exit_code = ExitCode.REFUSED

    def __init__(self, review_id: str, decided: str) -> None:
        self.review_id, self.decided = review_id, decided
        super().__init__(f"review {review_id} was already {decided}; the first decision "
                         "stands (open the queue again for the items still open)")


def _view(row: Any) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {"review_id": row["review_id"], "dataset": row["dataset"],
            "batch_id": row["batch_id"], "source_row": int(row["source_row"]),
            "resident_key": row["resident_key"],
            "probability": round(float(row["probability"]), 4),
            "runner_up": round(float(row["runner_up"]), 4),
            "comparison": row["comparison"], "status": row["status"],
            "created_at": iso(row["created_at"]), "decided_by": row["decided_by"],
            "decided_at": iso(row["decided_at"]), "applied": row["applied_at"] is not None}


class ReviewQueue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list(self, datasets: tuple[str, ...] | None, status: str = OPEN, offset: int = 0,
             limit: int = 50) -> tuple[list[dict[str, Any]], int]:
        """Items of `datasets` (None: every dataset), most probable first."""
        t = linkage_reviews
        where = [t.c.status == status]
        if datasets is not None:
            where.append(t.c.dataset.in_(datasets))
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(t).where(*where)).scalar()
            rows = conn.execute(select(t).where(*where)
                                .order_by(t.c.probability.desc(), t.c.review_id)
                                .offset(offset).limit(limit)).mappings().all()
        return [_view(r) for r in rows], int(total or 0)

    def get(self, review_id: str) -> dict[str, Any] | None:
        t = linkage_reviews
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.review_id == review_id)).mappings().first()
        return _view(row) if row else None

    def decide(self, review_id: str, accept: bool, actor: str) -> dict[str, Any]:
        """Accept or reject an open item; ReviewAlreadyDecided when it is not open."""
        t = linkage_reviews
        status = ACCEPTED if accept else REJECTED
        with self.engine.begin() as conn:
            done = conn.execute(update(t).where(t.c.review_id == review_id, t.c.status == OPEN)
                                .values(status=status, decided_by=actor,
                                        decided_at=datetime.now(UTC)))
        current = self.get(review_id)
        if done.rowcount != 1:
            raise ReviewAlreadyDecided(review_id, current["status"] if current else "gone")
        assert current is not None
        return current
