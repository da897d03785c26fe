"""Held snapshots decided through the API: a department's confirm or discard, queued in the
state store and carried out by the pipeline worker (the API never writes the warehouse).

A decision on a batch that is no longer awaiting confirmation (decided meanwhile, from the
command line or by another request) fails with that reason; nothing changes.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from hub.errors import HubError
from hub.queue.transitions import DONE, QUEUED, claim_oldest, mark_failed
from hub.state.tables import batch_decisions, upload_jobs

log = logging.getLogger(__name__)
DECISIONS = ("confirm", "discard")


class DecisionQueue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def enqueue(self, batch_id: str, dataset: str, decision: str,
                requested_by: str) -> dict[str, Any]:
        row = {"decision_id": "bd-" + secrets.token_hex(12), "batch_id": batch_id,
               "dataset": dataset, "decision": decision, "requested_by": requested_by,
               "status": QUEUED, "created_at": datetime.now(UTC)}
        with self.engine.begin() as conn:
            conn.execute(insert(batch_decisions).values(**row))
        return row

    def latest(self, batch_id: str) -> dict[str, Any] | None:
        t = batch_decisions
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.batch_id == batch_id)
                               .order_by(t.c.created_at.desc()).limit(1)).first()
        return dict(row._mapping) if row else None

    def claim(self) -> dict[str, Any] | None:
        return claim_oldest(self.engine, batch_decisions)

    def finish(self, decision_id: str, batch_id: str, outcome: str, reason: str) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(update(batch_decisions)
                         .where(batch_decisions.c.decision_id == decision_id)
                         .values(status=DONE, outcome=outcome, reason=reason, finished_at=now))
            # The upload that made the batch reports its new outcome too.
            conn.execute(update(upload_jobs).where(upload_jobs.c.batch_id == batch_id)
                         .values(outcome=outcome, reason=reason))

    def fail(self, decision_id: str, reason: str) -> None:
        mark_failed(self.engine, batch_decisions, decision_id, reason)


def run_next_decision(worker: Any, queue: DecisionQueue) -> bool:
    """Carry out the oldest queued decision; True when one ran (the views were republished)."""
    decision = queue.claim()
    if decision is None:
        return False
    try:
        done = worker.decide_held(decision["batch_id"], decision["decision"] == "confirm",
                                  decision["requested_by"])
        queue.finish(decision["decision_id"], decision["batch_id"], done["outcome"],
                     done["reason"])
        log.info("batch %s %s", decision["batch_id"], done["outcome"])
    except HubError as exc:  # not held any more: its message names the batch, no value
        queue.fail(decision["decision_id"], str(exc))
    except Exception as exc:
        queue.fail(decision["decision_id"],
                   f"internal error ({exc.__class__.__name__}); see the server log")
        log.error("decision on batch %s failed with %s", decision["batch_id"],
                  exc.__class__.__name__)
    return True
