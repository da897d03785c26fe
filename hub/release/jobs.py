"""Export jobs: the API queues a safe release, the pipeline worker writes it.

The API processes never open the warehouse (the pipeline worker holds it), so
`POST /v1/exports` stores a job in the state store and the worker loop (hub.pipeline.jobs) calls
`run_next_export` whenever it has no upload to ingest. The release lands in
`settings.exports_dir` as `<job id>.<csv|parquet>` with its aggregate table and report.

Statuses: queued -> running -> done (files written, report stored) | failed (`reason` names
the dataset, the rule and the next step; never a value).
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update

from catalog.errors import CatalogError
from desensitize.errors import DesensitizeError
from hub.errors import HubError
from hub.queue.transitions import DONE, QUEUED, RUNNING, claim_oldest, mark_failed
from hub.security.roles import Principal, Role
from hub.state.tables import export_jobs
from schemas.errors import SchemaError

log = logging.getLogger("hub.exports")

FORMATS = ("csv", "parquet")
_KNOWN_ERRORS = (HubError, SchemaError, DesensitizeError, CatalogError)
_REQUEUED: set[str] = set()  # engines whose interrupted jobs this worker process requeued

def _now() -> datetime:
    return datetime.now(UTC)


def new_export_id() -> str:
    return "ex-" + secrets.token_hex(12)


def can_export(principal: Principal, dataset: str) -> bool:
    """Auditors and administrators: any dataset; researchers: the datasets of their scope."""
    if principal.role in (Role.ADMIN, Role.AUDITOR):
        return True
    return principal.role == Role.RESEARCHER and dataset in principal.scope


def can_read_export(principal: Principal, job: dict[str, Any]) -> bool:
    """The token that asked for a release, and administrators."""
    return principal.role == Role.ADMIN or job.get("requested_by") == principal.token_id


class ExportQueue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def enqueue(self, *, job_id: str, dataset: str, recipient: str, k: int, l_div: int,
                cell_threshold: int, fmt: str, requested_by: str) -> dict[str, Any]:
        row = {"job_id": job_id, "dataset": dataset, "recipient": recipient, "k": k,
               "l": l_div, "cell_threshold": cell_threshold, "format": fmt,
               "requested_by": requested_by, "status": QUEUED, "created_at": _now()}
        with self.engine.begin() as conn:
            conn.execute(insert(export_jobs).values(**row))
        return row

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(export_jobs).where(export_jobs.c.job_id == job_id)).first()
        return dict(row._mapping) if row else None

    def claim(self) -> dict[str, Any] | None:
        """Mark the oldest queued job running and return it (one pipeline worker claims)."""
        return claim_oldest(self.engine, export_jobs)

    def requeue_interrupted(self) -> int:
        """Jobs left running by a worker that stopped start again (a release is rewritten
        whole under the same name)."""
        t = export_jobs
        with self.engine.begin() as conn:
            result = conn.execute(update(t).where(t.c.status == RUNNING)
                                  .values(status=QUEUED, started_at=None))
        return int(result.rowcount or 0)

    def finish(self, job_id: str, release_id: str, file_path: Path,
               report: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(export_jobs).where(export_jobs.c.job_id == job_id).values(
                status=DONE, release_id=release_id, file_path=str(file_path), report=report,
                finished_at=_now()))

    def fail(self, job_id: str, reason: str) -> None:
        mark_failed(self.engine, export_jobs, job_id, reason)


def export_file(exports_dir: Path, job: dict[str, Any]) -> Path:
    return exports_dir / f"{job['job_id']}.{job['format']}"


def export_queue(engine: Engine) -> ExportQueue:
    """The export queue of a state store already migrated (hub.state.migrate)."""
    return ExportQueue(engine)


def _worker_queue(engine: Engine) -> ExportQueue:
    queue = export_queue(engine)
    url = engine.url.render_as_string(hide_password=True)
    if url not in _REQUEUED:  # once per worker process: jobs a stopped worker left running
        requeued = queue.requeue_interrupted()
        if requeued:
            log.info("requeued %d interrupted export job(s)", requeued)
        _REQUEUED.add(url)
    return queue


def run_next_export(worker: Any, engine: Engine) -> bool:
    """Run the oldest queued export job with the open pipeline worker; False when none."""
    from hub.keys.config import load_keyring
    from hub.release.export import export_dataset

    try:
        queue = _worker_queue(engine)
        job = queue.claim()
    except Exception as exc:  # the state store hiccupped: uploads must keep flowing
        log.error("export queue unavailable (%s); retrying later", exc.__class__.__name__)
        return False
    if job is None:
        return False
    job_id = job["job_id"]
    folder = worker.settings.exports_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o750)
        target = export_file(folder, job)
        report = export_dataset(worker, job["dataset"], target, recipient=job["recipient"],
                                k=job["k"], l=job["l"], cell_threshold=job["cell_threshold"],
                                keyring=load_keyring(worker.settings), force=True,
                                risk_threshold=worker.settings.release_risk_threshold(
                                    "researcher"))
        queue.finish(job_id, report.release_id, target, report.as_dict())
        log.info("export %s: %s released (k=%s, l=%s)", job_id, job["dataset"],
                 report.k_reached, report.l_reached)
    except _KNOWN_ERRORS as exc:  # their messages name datasets, columns and rules only
        queue.fail(job_id, str(exc))
        log.warning("export %s failed: %s", job_id, exc.__class__.__name__)
    except Exception as exc:
        queue.fail(job_id, f"internal error ({exc.__class__.__name__}); see the server log")
        log.error("export %s failed with %s", job_id, exc.__class__.__name__)
    return True
