"""Department uploads: stream an extract into the inbox, queue it, report on it."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response

from connectors.errors import LoadModeNotAllowed
from connectors.source import load_source
from hub.api import error_file, examples
from hub.api.deps import CurrentPrincipal, ServicesDep, forbidden
from hub.api.problems import ApiProblem
from hub.api.redact import without_paths
from hub.api.responses import MAX_OFFSET, problems
from hub.api.upload_stream import ReceivedUpload, bad_upload, receive_upload
from hub.pipeline.jobs import new_job_id
from hub.security import access
from hub.security.roles import Principal

router = APIRouter(tags=["uploads"])

Dataset = Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_]{0,63}$",
                                   examples=["elderly_care"])]
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "the extract (CSV, XLSX, JSON, JSON Lines or Parquet)"},
        "source": {"type": "string", "description": "source name (a source YAML of this "
                   "dataset); default: the dataset's shipped source",
                   "example": "civil_affairs_elderly_care"},
        "mode": {"type": "string", "enum": ["snapshot", "delta"],
                 "description": "load mode, within what the source allows; default: the "
                                "source's own"}}}}}}}


def _upload_not_found() -> ApiProblem:
    return ApiProblem(404, "not-found", "Not found", "no upload with this id for your datasets")


def _pick_source(services: Any, dataset: str, name: str | None) -> tuple[str, Path]:
    candidates = {n: p for n, p in services.sources.items()
                  if services.source_datasets[n] == dataset}
    if name:
        if name not in candidates:
            raise bad_upload(f"unknown source for dataset {dataset}; known: "
                             + ", ".join(sorted(candidates)))
        return name, candidates[name]
    if len(candidates) != 1:
        raise bad_upload(f"name the source of this extract; known for {dataset}: "
                         + ", ".join(sorted(candidates)))
    return next(iter(candidates.items()))


def _pick_mode(source_path: Path, asked: str | None) -> str | None:
    """The load mode asked for, refused (422) unless the source allows it; None: the
    source's own."""
    if not asked:
        return None
    if asked not in ("snapshot", "delta"):
        raise bad_upload("mode must be snapshot or delta")
    spec = load_source(source_path)
    if asked not in spec.allowed_modes:
        raise LoadModeNotAllowed(spec.name, asked, [str(m) for m in spec.allowed_modes])
    return asked


def _job_view(job: dict[str, Any]) -> dict[str, Any]:
    return {"upload_id": job["job_id"], "status": job["status"], "dataset": job["dataset"],
            "source": job["source"], "bytes": job["bytes"], "batch_id": job.get("batch_id"),
            "outcome": job.get("outcome"), "rows_read": job.get("rows_read"),
            "rows_loaded": job.get("rows_loaded"),
            "rows_quarantined": job.get("rows_quarantined"),
            "reason": without_paths(job.get("reason")),
            "top_rules": job.get("top_rules") or [],
            "mode_asked": job.get("mode"), "load_mode": job.get("load_mode"),
            "replaced": job.get("replaced"), "findings": job.get("findings"),
            "created_at": _iso(job.get("created_at")),
            "started_at": _iso(job.get("started_at")),
            "finished_at": _iso(job.get("finished_at"))}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@router.post("/v1/datasets/{dataset}/uploads", status_code=202, summary="Upload an extract",
             openapi_extra=UPLOAD_BODY,
             responses={202: examples.json_example(examples.UPLOAD_ACCEPTED, "queued"),
                        **problems(400, 413),
                        413: examples.problem_example(413, "payload-too-large",
                                                      "the extract is over the size limit")})
async def upload(request: Request, services: ServicesDep, principal: CurrentPrincipal,
                 dataset: Dataset) -> JSONResponse:
    """Streams the file into the inbox and queues it; the pipeline worker ingests it as one
    batch. Poll `GET /v1/uploads/{upload_id}` for the outcome and the row-level report.

    The batch is loaded in its source's load mode: `snapshot` (the shipped sources) replaces
    everything the source sent before, so send the whole current extract; a snapshot that
    would drop more than 20% of the source's current rows or residents is held
    (`awaiting_confirmation`) until a person confirms or discards it
    (`POST /v1/batches/{batch_id}/confirm` or `/discard`), and replaces nothing meanwhile.
    A `delta` adds rows or replaces those with the same key. The form field `mode` asks for
    one of the modes the source allows; the upload's status says which mode applied
    (`load_mode`) and what the batch replaced (`replaced`)."""
    if dataset not in set(services.source_datasets.values()):
        raise ApiProblem(404, "not-found", "Not found", "no such dataset takes uploads")
    if not access.can_upload(principal, dataset):
        raise forbidden("this token may not upload to this dataset")
    job_id, partial = inbox_target(services)
    received = await receive_upload(request, partial, services.settings.max_extract_bytes)
    body = queue_upload(services, principal, dataset, job_id, received)
    return JSONResponse(body, status_code=202, headers={"Location": body["status_url"]})


def inbox_target(services: Any) -> tuple[str, Path]:
    """A new upload id and the private file its body streams into."""
    inbox = services.settings.inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    job_id = new_job_id()
    return job_id, inbox / f".{job_id}.part"


def queue_upload(services: Any, principal: Principal, dataset: str, job_id: str,
                 received: ReceivedUpload) -> dict[str, Any]:
    """The received file queued for the pipeline worker with its source and load mode
    (the form fields `source` and `mode`); on any refusal the file is deleted."""
    inbox = services.settings.inbox_dir
    try:
        if received.path is None:
            raise bad_upload("the upload has no `file` part, or the file is empty")
        source, source_path = _pick_source(services, dataset, received.fields.get("source"))
        mode = _pick_mode(source_path, received.fields.get("mode"))
        final = inbox / f"{job_id}{received.suffix}"
        received.path.rename(final)
        job = services.jobs.enqueue(job_id=job_id, dataset=dataset, source=source,
                                    source_path=source_path, inbox_path=final,
                                    size=received.size, submitted_by=principal.token_id,
                                    mode=mode)
    except BaseException:
        for leftover in inbox.glob(f"*{job_id}*"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise
    return {"upload_id": job_id, "status": job["status"], "dataset": dataset,
            "source": source, "mode": mode, "bytes": received.size,
            "status_url": f"/v1/uploads/{job_id}"}


@router.get("/v1/uploads/{upload_id}", summary="Status and rejection report of an upload",
            responses={200: examples.json_example(examples.UPLOAD_STATUS)})
def upload_status(services: ServicesDep, principal: CurrentPrincipal,
                  upload_id: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_.:-]{1,96}$")],
                  offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                  limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> dict[str, Any]:
    """Status (queued, running, done, failed), row counts and the row-level rejection report
    (source row, column, rule; never a value). Accepts the upload id or the batch id."""
    job = services.jobs.get(upload_id)
    if job is None or not access.can_read_batch(principal, job["dataset"]):
        raise _upload_not_found()
    issues, total = services.jobs.issues(job["job_id"], offset, limit)
    return {**_job_view(job), "rejections_total": total, "rejections_offset": offset,
            "rejections": issues}


ISSUES_PAGE = 10_000
_MEDIA = {"csv": "text/csv; charset=utf-8",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("/v1/uploads/{upload_id}/errors.{fmt}", summary="The clerk's error file",
            response_class=Response,
            responses={200: {"content": {m: {} for m in _MEDIA.values()},
                             "description": "one line per row issue"}})
def upload_errors(services: ServicesDep, principal: CurrentPrincipal,
                  upload_id: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_.:-]{1,96}$")],
                  fmt: Annotated[str, PathParam(pattern=r"^(csv|xlsx)$")]) -> Response:
    """Every row issue of the upload: source row number, the department's own column header,
    level (error: the row was not loaded; warning: it was), rule, explanation and how to fix
    it at source, in Chinese. Never a cell value."""
    job = services.jobs.get(upload_id)
    if job is None or not access.can_read_batch(principal, job["dataset"]):
        raise _upload_not_found()
    spec = load_source(services.sources[job["source"]])
    issues: list[dict[str, Any]] = []
    while True:
        page, total = services.jobs.issues(job["job_id"], len(issues), ISSUES_PAGE)
        issues.extend(page)
        if not page or len(issues) >= total:
            break
    rows = error_file.error_rows(spec, issues)
    body = error_file.as_csv(rows) if fmt == "csv" else error_file.as_xlsx(rows)
    name = f"errors-{job['job_id']}.{fmt}"
    return Response(body, media_type=_MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
