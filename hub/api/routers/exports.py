"""Safe releases for auditors, administrators and researchers: queue, poll, download.

`POST /v1/exports` queues a job that the pipeline worker runs (the API never opens the
warehouse); the release is a de-identified extract, an aggregate table and a report
(hub.release.export). Every request to queue a release, granted or refused, and every download
leaves one audit record (action `export`, no resident key); if it cannot be written the
caller gets 503 and nothing else happens.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.api.deps import (
    CurrentPrincipal,
    OptionalPrincipal,
    Services,
    ServicesDep,
    forbidden,
    unauthenticated,
)
from hub.api.guard import audit_unavailable
from hub.api.problems import ApiProblem
from hub.api.redact import without_paths
from hub.api.responses import problems
from hub.api.validation_fields import error_field
from hub.release.files import output_paths
from hub.release.jobs import DONE, can_export, can_read_export, export_queue, new_export_id
from hub.security.roles import Principal, Role
from schemas.registry import all_contracts

router = APIRouter(prefix="/v1/exports", tags=["exports"])

EXPORT_ROLES = frozenset({Role.ADMIN, Role.AUDITOR, Role.RESEARCHER})
ExportId = Annotated[str, PathParam(pattern=r"^ex-[0-9a-f]{24}$")]
MEDIA = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    dataset: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["elderly_care"])
    recipient: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                           description="who receives the release; part of its pseudonym key",
                           examples=["university-study-7"])
    k: int = Field(5, ge=2, le=1000, description="persons each quasi-identifier class holds")
    l_div: int = Field(2, ge=1, le=100, alias="l",
                       description="distinct values of each sensitive column per class")
    cell_threshold: int = Field(10, ge=1, le=1000,
                                description="aggregate cells behind fewer persons are withheld")
    format: Literal["csv", "parquet"] = "csv"


BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": ExportRequest.model_json_schema(by_alias=True)}}}}


class _Audit:
    """The audit record of one export request (one per request, written before answering)."""

    def __init__(self, request: Request, services: Services, principal: Principal | None
                 ) -> None:
        self.request = request
        self.services = services
        self.principal = principal

    def record(self, outcome: str, detail: dict[str, Any]) -> None:
        fields: dict[str, Any] = {
            "action": "export", "outcome": outcome, "detail": detail,
            "request_id": str(getattr(self.request.state, "request_id", ""))}
        if self.principal is not None:
            fields["principal"] = self.principal
        else:
            fields.update(actor="anonymous", role="anonymous", scope="")
        try:
            self.services.audit.append(**fields)
        except Exception:  # no record, no release
            raise audit_unavailable() from None

    def refuse(self, problem: ApiProblem, outcome: str, detail: dict[str, Any]) -> NoReturn:
        self.record(outcome, detail)
        raise problem


async def _body(request: Request, audit: _Audit) -> ExportRequest:
    try:
        return ExportRequest.model_validate(json.loads(await request.body() or b"null"))
    except (ValueError, ValidationError) as exc:
        errors = exc.errors() if isinstance(exc, ValidationError) else []
        fields = sorted({error_field(e) or "body" for e in errors})
        # The rule and the field only: what was sent may be anything, an ID number included.
        problem = ApiProblem(422, "invalid-request", "Invalid request",
                             "the export request does not match the API: "
                             + (", ".join(fields) or "the body is not a JSON object"),
                             extra={"errors": [{"field": f} for f in fields]})
        audit.refuse(problem, "refused:invalid_request", {"step": "request",
                                                          "fields": fields[:20]})


@router.post("", status_code=202, summary="Queue a safe release of a dataset",
             openapi_extra=BODY)
async def create_export(request: Request, services: ServicesDep,
                        principal: OptionalPrincipal) -> JSONResponse:
    """Auditors and administrators: any dataset; researchers: the datasets of their scope.
    Poll `GET /v1/exports/{export_id}`; then download `/file` and `/report`."""
    audit = _Audit(request, services, principal)
    if principal is None:
        audit.refuse(unauthenticated(), "refused:unauthenticated", {"step": "request"})
    if principal.role not in EXPORT_ROLES:
        audit.refuse(forbidden("this role may not ask for releases"), "refused:role",
                     {"step": "request"})
    body = await _body(request, audit)
    asked = {"step": "request", "dataset": body.dataset, "recipient": body.recipient,
             "k": body.k, "l": body.l_div, "cell_threshold": body.cell_threshold,
             "format": body.format}
    if body.dataset not in all_contracts():
        audit.refuse(ApiProblem(404, "not-found", "Not found", "no such dataset"),
                     "refused:not_found", asked)
    if not can_export(principal, body.dataset):
        audit.refuse(forbidden("this token may not export this dataset"), "refused:forbidden",
                     asked)
    export_id = new_export_id()
    audit.record("accepted", {**asked, "export_id": export_id})
    job = export_queue(services.engine).enqueue(
        job_id=export_id, dataset=body.dataset, recipient=body.recipient, k=body.k,
        l_div=body.l_div, cell_threshold=body.cell_threshold, fmt=body.format,
        requested_by=principal.token_id)
    view = {"export_id": export_id, "status": job["status"], "dataset": body.dataset,
            "status_url": f"/v1/exports/{export_id}"}
    return JSONResponse(view, status_code=202, headers={"Location": view["status_url"]})


def _job(services: Services, principal: Principal, export_id: str) -> dict[str, Any]:
    job = export_queue(services.engine).get(export_id)
    if job is None or principal.role not in EXPORT_ROLES or not can_read_export(principal, job):
        raise ApiProblem(404, "not-found", "Not found", "no export with this id for your token")
    return job


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@router.get("/{export_id}", summary="Status and report of a release")
def export_status(services: ServicesDep, principal: CurrentPrincipal,
                  export_id: ExportId) -> dict[str, Any]:
    job = _job(services, principal, export_id)
    done = job["status"] == DONE
    return {"export_id": job["job_id"], "status": job["status"], "dataset": job["dataset"],
            "recipient": job["recipient"], "k": job["k"], "l": job["l"],
            "cell_threshold": job["cell_threshold"], "format": job["format"],
            "release_id": job.get("release_id"), "reason": without_paths(job.get("reason")),
            "created_at": _iso(job.get("created_at")),
            "started_at": _iso(job.get("started_at")),
            "finished_at": _iso(job.get("finished_at")),
            "report": job.get("report") if done else None,
            "file_url": f"/v1/exports/{export_id}/file" if done else None,
            "report_url": f"/v1/exports/{export_id}/report" if done else None}


def _download(request: Request, services: Services, principal: Principal, export_id: str,
              part: Literal["file", "report"]) -> tuple[dict[str, Any], Path]:
    job = _job(services, principal, export_id)
    if job["status"] != DONE or not job.get("file_path"):
        raise ApiProblem(409, "export-not-ready", "Not ready",
                         f"the release is {job['status']}; poll /v1/exports/{export_id}")
    paths = output_paths(Path(job["file_path"]))
    path = paths["extract"] if part == "file" else paths["report_html"]
    if not path.is_file():
        raise ApiProblem(404, "not-found", "Not found",
                         "the release files are no longer on the server; ask for a new one")
    _Audit(request, services, principal).record("granted", {
        "step": part, "export_id": export_id, "dataset": job["dataset"],
        "release_id": job.get("release_id")})
    return job, path


@router.get("/{export_id}/file", summary="Download the de-identified extract",
            response_class=FileResponse,
            responses={200: {"description": "the extract", "content": {
                           "text/csv": {"schema": {"type": "string"}},
                           MEDIA["parquet"]: {"schema": {"type": "string",
                                                         "format": "binary"}}}},
                       **problems(409)})
def export_download(request: Request, services: ServicesDep, principal: CurrentPrincipal,
                    export_id: ExportId) -> FileResponse:
    job, path = _download(request, services, principal, export_id, "file")
    name = f"{job['dataset']}-{job['release_id']}.{job['format']}"
    return FileResponse(path, media_type=MEDIA[job["format"]], filename=name)


@router.get("/{export_id}/report", summary="The release report (offline HTML)",
            response_class=FileResponse,
            responses={200: {"description": "the report", "content": {
                           "text/html": {"schema": {"type": "string"}}}},
                       **problems(409)})
def export_report(request: Request, services: ServicesDep, principal: CurrentPrincipal,
                  export_id: ExportId) -> FileResponse:
    _, path = _download(request, services, principal, export_id, "report")
    return FileResponse(path, media_type="text/html; charset=utf-8")

