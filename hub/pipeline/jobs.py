"""The upload job queue in the state store, and the pipeline worker loop that drains it.

The API streams an upload into `HUB_HOME/inbox/` and enqueues a job; it never touches the
warehouse. The pipeline worker (one process, the warehouse's only writer) claims queued jobs
in order, ingests each file as one batch, copies the batch's row report (source_row, column,
rule: never a value) from the warehouse quarantine into the state store so that the API can
serve it, deletes the inbox file (raw identifiers must not stay on disk) and, once the queue is
empty, republishes the resident views.

Statuses: queued -> running -> done (the pipeline produced a batch outcome: loaded, rejected,
failed or already_ingested) | failed (the job itself could not run; `reason` says why).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from catalog.errors import CatalogError
from connectors.errors import ConnectorError
from desensitize.errors import DesensitizeError
from hub.errors import HubError
from hub.pipeline.decisions import DecisionQueue, run_next_decision
from hub.queue.transitions import DONE, FAILED, QUEUED, RUNNING, claim_oldest, mark_failed
from hub.release.jobs import run_next_export
from hub.settings import HubSettings
from hub.state.tables import upload_issues, upload_jobs
from schemas.errors import SchemaError

log = logging.getLogger("hub.pipeline.jobs")

ISSUE_CHUNK = 10_000
_KNOWN_ERRORS = (HubError, ConnectorError, SchemaError, DesensitizeError, CatalogError)

def _now() -> datetime:
    return datetime.now(UTC)


def new_job_id() -> str:
    return "up-" + secrets.token_hex(12)


class JobQueue:
    """Jobs and their row reports in the state store (SQLite WAL or Postgres)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def enqueue(self, *, job_id: str, dataset: str, source: str, source_path: Path,
                inbox_path: Path, size: int, submitted_by: str,
                mode: str | None = None) -> dict[str, Any]:
        row = {"job_id": job_id, "dataset": dataset, "source": source,
               "source_path": str(source_path), "inbox_path": str(inbox_path), "bytes": size,
               "submitted_by": submitted_by, "status": QUEUED, "created_at": _now(),
               "mode": mode}
        with self.engine.begin() as conn:
            conn.execute(insert(upload_jobs).values(**row))
        return row

    def get(self, job_or_batch_id: str) -> dict[str, Any] | None:
        """A job by its id, or the latest job that produced the given batch id."""
        t = upload_jobs
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.job_id == job_or_batch_id)).first()
            if row is None:
                row = conn.execute(select(t).where(t.c.batch_id == job_or_batch_id)
                                   .order_by(t.c.created_at.desc()).limit(1)).first()
        return dict(row._mapping) if row else None

    def issues(self, job_id: str, offset: int = 0, limit: int = 1000
               ) -> tuple[list[dict[str, Any]], int]:
        t = upload_issues
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(t)
                                 .where(t.c.job_id == job_id)).scalar()
            rows = conn.execute(
                select(t.c.source_row, t.c.column_name, t.c.rule, t.c.severity)
                .where(t.c.job_id == job_id)
                .order_by(t.c.source_row, t.c.column_name, t.c.rule)
                .offset(offset).limit(limit))
            items = [{"source_row": r.source_row, "column": r.column_name, "rule": r.rule,
                      "severity": r.severity} for r in rows]
        return items, int(total or 0)

    def claim(self) -> dict[str, Any] | None:
        """Mark the oldest queued job running and return it (one pipeline worker claims)."""
        return claim_oldest(self.engine, upload_jobs)

    def requeue_interrupted(self) -> int:
        """Jobs left running by a worker that died go back to the queue (ingest is
        idempotent on content); those whose file is gone fail with a reason."""
        t = upload_jobs
        with self.engine.begin() as conn:
            rows = conn.execute(select(t.c.job_id, t.c.inbox_path)
                                .where(t.c.status == RUNNING)).all()
            for job_id, inbox in rows:
                if Path(inbox).is_file():
                    conn.execute(update(t).where(t.c.job_id == job_id)
                                 .values(status=QUEUED, started_at=None))
                else:
                    conn.execute(update(t).where(t.c.job_id == job_id).values(
                        status=FAILED, finished_at=_now(),
                        reason="the pipeline worker stopped during this job and the "
                               "uploaded file is gone; upload it again"))
        return len(rows)

    def finish(self, job_id: str, result: dict[str, Any],
               issues: Callable[[], Any] | None = None) -> None:
        """Record a batch outcome; `issues` yields lists of (row, column, rule, severity)."""
        with self.engine.begin() as conn:
            conn.execute(upload_issues.delete().where(upload_issues.c.job_id == job_id))
        if issues is not None:
            for chunk in issues():
                if not chunk:
                    continue
                with self.engine.begin() as conn:
                    conn.execute(insert(upload_issues), [
                        {"job_id": job_id, "source_row": int(r), "column_name": c, "rule": u,
                         "severity": s} for r, c, u, s in chunk])
        with self.engine.begin() as conn:
            conn.execute(update(upload_jobs).where(upload_jobs.c.job_id == job_id).values(
                status=DONE, batch_id=result["batch_id"], outcome=result["outcome"],
                rows_read=result["rows_read"], rows_loaded=result["rows_loaded"],
                rows_quarantined=result["rows_quarantined"], reason=result["reason"],
                top_rules=result["top_rules"], load_mode=result.get("load_mode"),
                replaced=result.get("replaced"), findings=result.get("findings"),
                finished_at=_now()))

    def fail(self, job_id: str, reason: str) -> None:
        mark_failed(self.engine, upload_jobs, job_id, reason)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.error("could not delete inbox file %s (%s): delete it by hand", path.name,
                  exc.__class__.__name__)


def run_pipeline_worker(settings: HubSettings, stop: threading.Event | Any,
                        poll_seconds: float = 0.5, ready: Any | None = None) -> None:
    """Drain the job queue until `stop` is set; holds the warehouse writer lock meanwhile.
    `ready` (an Event) is set once the warehouse is open and the queue is being served."""
    from hub.pipeline.worker import PipelineWorker
    from hub.state.migrate import open_state_store

    queue = JobQueue(open_state_store(settings.resolved_state_url))
    decisions = DecisionQueue(queue.engine)
    with PipelineWorker(settings) as worker:
        requeued = queue.requeue_interrupted()
        if requeued:
            log.info("requeued %d interrupted upload job(s)", requeued)
        publish_due = False
        log.info("pipeline worker ready (inbox %s)", settings.inbox_dir)
        if ready is not None:
            ready.set()
        while not stop.is_set():
            job = queue.claim()
            if job is None:
                if publish_due or _reviews_waiting(queue.engine):
                    publish_due = False
                    _publish(worker)
                if run_next_decision(worker, decisions) or _run_export(worker, queue):
                    continue
                stop.wait(poll_seconds)
                continue
            publish_due |= _run_job(worker, queue, job)
    queue.engine.dispose()
    log.info("pipeline worker stopped")


def _run_export(worker: Any, queue: JobQueue) -> bool:
    """Run the next safe release asked via the API; True when one ran. An error here must not
    stop the worker: ingests and publishing go on, and the export job records its own failure."""
    try:
        return bool(run_next_export(worker, queue.engine))
    except Exception as exc:
        log.error("running an export job failed (%s): the worker goes on",
                  exc.__class__.__name__)
        return False


def _reviews_waiting(engine: Engine) -> bool:
    """A data steward accepted or rejected a linkage review: the views must follow."""
    from hub.pipeline.linkage import reviews_waiting

    return reviews_waiting(engine)


def _publish(worker: Any) -> None:
    try:
        summary = worker.publish_changes()
        log.info("published views generation %s (%s)", summary.get("generation"),
                 summary.get("mode"))
    except Exception as exc:  # a failed publish keeps the previous generation serving
        log.error("publishing views failed (%s): the previous views stay published",
                  exc.__class__.__name__)


def _run_job(worker: Any, queue: JobQueue, job: dict[str, Any]) -> bool:
    """Ingest one job's file; True when a batch was loaded (views need republishing)."""
    inbox = Path(job["inbox_path"])
    job_id = job["job_id"]
    try:
        result = worker.ingest(Path(job["source_path"]), inbox, mode=job.get("mode"))
        batch_id = result.batch_id
        con = worker.warehouse.con

        def issues() -> Any:
            cursor = con.execute(
                "SELECT source_row, column_name, rule, severity FROM quarantine.row_issues "
                "WHERE batch_id = ? ORDER BY source_row, column_name, rule", [batch_id])
            while chunk := cursor.fetchmany(ISSUE_CHUNK):
                yield chunk

        queue.finish(job_id, result.as_dict(), issues)
        log.info("upload %s: %s batch %s (%d read, %d loaded, %d quarantined)", job_id,
                 result.outcome, batch_id, result.rows_read, result.rows_loaded,
                 result.rows_quarantined)
        return result.outcome == "loaded"
    except _KNOWN_ERRORS as exc:  # their messages name files, rows and rules, never values
        # ... and the inbox file by its path: a clerk reads "the uploaded file" instead.
        queue.fail(job_id, str(exc).replace(str(inbox), "the uploaded file"))
        log.warning("upload %s failed: %s", job_id, exc.__class__.__name__)
    except Exception as exc:
        queue.fail(job_id, f"internal error ({exc.__class__.__name__}); see the server log")
        log.error("upload %s failed with %s", job_id, exc.__class__.__name__)
    finally:
        _remove(inbox)
    return False
