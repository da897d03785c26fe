"""Closing correction requests from the data itself, after each loaded batch.

The pipeline worker calls `verify_after_batch` once a batch is loaded and the quality step has
refreshed the cross-department findings (hub.quality.hook). A request from a finding closes
(`corrected`, verified, with this batch) when the finding is resolved; one from a failed
quality check closes when a later batch of its dataset passes the same check. A request the
department marked corrected whose dataset's new batch still shows the finding goes back to
`acknowledged`: the correction did not arrive.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, select, update

from catalog.quality_store import QualityStore, quality_findings
from hub.audit.log import AuditLog
from hub.casework.steps import Steps, now
from hub.state.casework_tables import correction_requests

log = logging.getLogger(__name__)
KIND = "correction"
WAITING = ("open", "acknowledged", "corrected")


def _passed_checks(engine: Engine, batch_id: str) -> set[str]:
    result = QualityStore(engine).batch_result(batch_id) or {}
    return {str(e.get("id")) for e in result.get("expectations", []) if e.get("success")}


def verify_after_batch(engine: Engine, audit: AuditLog, batch_id: str, dataset: str
                       ) -> dict[str, int]:
    """Close what this loaded batch shows corrected; returns counts (verified, reopened)."""
    steps = Steps(engine, audit)
    t, f = correction_requests, quality_findings
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.c.request_id, t.c.origin, t.c.dataset, t.c.rule, t.c.status,
                   t.c.resident_key, f.c.status.label("finding_status"))
            .select_from(t.outerjoin(f, f.c.finding_id == t.c.finding_id))
            .where(t.c.status.in_(WAITING))).all()
    passed = _passed_checks(engine, batch_id) if any(r.origin == "quality" for r in rows) \
        else set()
    verified: list[Any] = []
    reopened: list[Any] = []
    for r in rows:
        resolved = r.origin == "finding" and r.finding_status == "resolved"
        passes = r.origin == "quality" and r.dataset == dataset and r.rule in passed
        if resolved or passes:
            verified.append(r)
        elif (r.origin == "finding" and r.status == "corrected" and r.dataset == dataset
              and r.finding_status == "open"):
            reopened.append(r)
    stamp = now()
    for r in verified:
        with engine.begin() as conn:
            conn.execute(update(t).where(t.c.request_id == r.request_id).values(
                status="corrected", corrected_batch=batch_id, verified_at=stamp,
                corrected_at=stamp if r.status != "corrected" else t.c.corrected_at,
                closed_at=stamp))
            steps.history(conn, KIND, r.request_id, "verified", None, {"batch_id": batch_id})
        steps.audit_step(KIND, r.request_id, "verified", None, r.resident_key,
                         detail={"batch_id": batch_id})
    for r in reopened:
        with engine.begin() as conn:
            conn.execute(update(t).where(t.c.request_id == r.request_id).values(
                status="acknowledged", corrected_batch=None))
            steps.history(conn, KIND, r.request_id, "still_seen", None, {"batch_id": batch_id})
        steps.audit_step(KIND, r.request_id, "still_seen", None, r.resident_key,
                         detail={"batch_id": batch_id})
    if verified or reopened:
        log.info("batch %s verified %d correction request(s), %d still seen", batch_id,
                 len(verified), len(reopened))
    return {"verified": len(verified), "reopened": len(reopened)}
