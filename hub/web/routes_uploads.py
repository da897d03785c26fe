"""Department clerk pages: upload an extract, follow it, read its outcome, decide on a held
snapshot, download the error file, and the batch history of the clerk's own datasets.

Each page stands for an API call and goes through the same checks (hub.api.routers.uploads
and batches: `can_upload`, `can_read_batch`); another department's upload or batch looks
like none. A page never shows a server path or a cell value: row numbers, the clerk's own
column headers, rules and their explanations only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from connectors.source import load_source
from hub.api.error_file import department_header
from hub.api.problems import ApiProblem
from hub.api.redact import without_paths
from hub.api.routers import batches, uploads
from hub.api.upload_stream import receive_upload
from hub.pipeline.decisions import DecisionQueue
from hub.pipeline.load_modes import HELD
from hub.security import access
from hub.web.render import page
from hub.web.routes_auth import SignedIn, csrf_ok, signed_in, to_login
from hub.web.state import console_state
from schemas.errors import DataHubError
from schemas.rule_labels import describe

router = APIRouter(prefix="/console", include_in_schema=False)
UploadId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_.:-]{1,96}$")]
PENDING = ("queued", "running")
ROWS_SHOWN = 20  # row numbers listed per rule; the error file has them all
ISSUES_READ = 50_000  # issues grouped on the page (the error file is not bounded by this)
HISTORY = 50  # batches per dataset on the history page


@dataclass(frozen=True)
class SourceChoice:
    name: str
    dataset: str
    description: str
    modes: tuple[str, ...]


def clerk_page(who: SignedIn, template: str, status: int = 200, **context: Any) -> Response:
    return page(template, locale=who.user.locale, status=status, who=who, **context)


def refusal(who: SignedIn, problem: str, status: int = 400) -> Response:
    return clerk_page(who, "console/upload_error.html", status=status, problem=problem)


def _sources(request: Request, who: SignedIn) -> list[SourceChoice]:
    """The sources of the datasets this user may upload to."""
    services = console_state(request).services
    found = []
    for name, path in sorted(services.sources.items()):
        dataset = services.source_datasets[name]
        if access.can_upload(who.user.principal, dataset):
            spec = load_source(path)
            found.append(SourceChoice(name, dataset, spec.description,
                                      tuple(str(m) for m in spec.allowed_modes)))
    return found


@router.get("/uploads")
def upload_form(request: Request) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    return clerk_page(who, "console/upload.html", sources=_sources(request, who),
                      current_path="/console/uploads")


@router.post("/uploads")
async def upload(request: Request) -> Response:
    """The form posts multipart (csrf, source, mode, file); the file streams into the inbox
    as the API's upload does, and is deleted again on any refusal."""
    who = signed_in(request)
    if who is None:
        return to_login()
    services = console_state(request).services
    job_id, partial = uploads.inbox_target(services)
    try:
        received = await receive_upload(request, partial, services.settings.max_extract_bytes)
    except ApiProblem as problem:
        return refusal(who, "too-large" if problem.status == 413 else "no-file", problem.status)
    fields = received.fields
    choice = next((s for s in _sources(request, who) if s.name == fields.get("source")), None)
    if not csrf_ok(request, who, fields.get("csrf")) or choice is None or \
            fields.get("mode", "") not in ("", *choice.modes):
        if received.path is not None:
            received.path.unlink(missing_ok=True)
        return refusal(who, "bad-form")
    try:
        uploads.queue_upload(services, who.user.principal, choice.dataset, job_id, received)
    except (ApiProblem, DataHubError):
        return refusal(who, "bad-form")
    return RedirectResponse(f"/console/uploads/{job_id}", status_code=303)


def _visible_job(request: Request, who: SignedIn, upload_id: str) -> dict[str, Any] | None:
    job = console_state(request).services.jobs.get(upload_id)
    if job is None or not access.can_read_batch(who.user.principal, job["dataset"]):
        return None
    return job


def _rule_groups(request: Request, job: dict[str, Any], language: str
                 ) -> dict[str, list[dict[str, Any]]]:
    """Errors and warnings apart, per rule and column: the department's own header, the row
    count, the first row numbers of its file, what the rule means and how to fix it."""
    services = console_state(request).services
    spec = load_source(services.sources[job["source"]]) if job["source"] in services.sources \
        else None
    issues, _total = services.jobs.issues(job["job_id"], 0, ISSUES_READ)
    groups: dict[tuple[str, str, str], set[int]] = {}
    for issue in issues:
        key = (str(issue["severity"]), str(issue["column"]), str(issue["rule"]))
        groups.setdefault(key, set()).add(int(issue["source_row"]))
    out: dict[str, list[dict[str, Any]]] = {"errors": [], "warnings": []}
    for (severity, column, rule), rows in groups.items():
        explanation, hint = describe(rule, "en" if language == "en" else "zh")
        ordered = sorted(rows)
        out["errors" if severity == "error" else "warnings"].append({
            "column": department_header(spec, column) if spec else column, "rule": rule,
            "rows": len(ordered), "first_rows": ordered[:ROWS_SHOWN],
            "more": len(ordered) > ROWS_SHOWN, "explanation": explanation, "hint": hint})
    for items in out.values():
        items.sort(key=lambda g: (-g["rows"], g["column"], g["rule"]))
    return out


@router.get("/uploads/{upload_id}")
def upload_status(request: Request, upload_id: UploadId) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    job = _visible_job(request, who, upload_id)
    if job is None:
        return refusal(who, "not-found", 404)
    decision = DecisionQueue(console_state(request).services.engine).latest(
        str(job["batch_id"])) if job.get("batch_id") else None
    pending = job["status"] in PENDING or (decision is not None
                                           and decision["status"] in PENDING)
    groups = _rule_groups(request, job, who.user.locale) if job["status"] == "done" else {}
    return clerk_page(who, "console/upload_status.html", job=job, groups=groups,
                      held=job.get("outcome") == HELD, decision=decision, pending=pending,
                      reason=without_paths(job.get("reason")))


@router.get("/uploads/{upload_id}/errors.xlsx")
def error_file(request: Request, upload_id: UploadId) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    try:
        return uploads.upload_errors(console_state(request).services, who.user.principal,
                                     upload_id, "xlsx")
    except ApiProblem:
        return refusal(who, "not-found", 404)


@router.post("/uploads/{upload_id}/decision")
def decide(request: Request, upload_id: UploadId,
           decision: Annotated[str, Form(max_length=16)] = "",
           csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Confirm or discard the held snapshot this upload made (POST /v1/batches/{id}/...)."""
    who = signed_in(request)
    if who is None:
        return to_login()
    if not csrf_ok(request, who, csrf) or decision not in ("confirm", "discard"):
        return refusal(who, "bad-form")
    job = _visible_job(request, who, upload_id)
    if job is None or not job.get("batch_id"):
        return refusal(who, "not-found", 404)
    try:
        batches.decide(console_state(request).services, who.user.principal,
                       str(job["batch_id"]), decision)
    except ApiProblem as problem:
        return refusal(who, "not-held" if problem.status == 409 else "not-found",
                       problem.status)
    return RedirectResponse(f"/console/uploads/{job['job_id']}", status_code=303)


@router.get("/batches")
def batch_history(request: Request) -> Response:
    """The batches of the user's datasets, newest first, each with its upload if any."""
    who = signed_in(request)
    if who is None:
        return to_login()
    services = console_state(request).services
    datasets = sorted({d for d in services.source_datasets.values()
                       if access.can_upload(who.user.principal, d)})
    history = []
    for dataset in datasets:
        for batch in services.catalog.list_batches(dataset, limit=HISTORY):
            job = services.jobs.get(batch["batch_id"])
            history.append({**batch, "reason": without_paths(batch.get("reason")),
                            "upload_id": job["job_id"] if job else None})
    history.sort(key=lambda b: str(b["finished_at"]), reverse=True)
    return clerk_page(who, "console/batches.html", history=history, datasets=datasets,
                      current_path="/console/batches")
