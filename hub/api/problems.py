"""RFC 7807 problem responses for every project error.

A problem body names what went wrong and the next step; it never echoes a request value
(an ID number typed into a search must not come back in a 422). Validation errors name the
field and the rule only. Every project error derives from schemas.errors.DataHubError and
carries its status and problem type (slug); its message names files, rows, columns and rules
by design (never values), so its text may be shown for 4xx; a 5xx shows a generic text and
the request id, and the log keeps the class name.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.api.validation_fields import error_field
from schemas.errors import DataHubError

log = logging.getLogger("hub.api")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://community-data-hub.invalid/problems/"


class ApiProblem(DataHubError):
    """An error the API raises itself: status, a stable slug and a value-free detail, set per
    instance (the class attributes are the defaults of the root)."""

    def __init__(self, status: int, slug: str, title: str, detail: str,
                 headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(f"{status} {slug}: {detail}")


def not_found(what: str) -> ApiProblem:
    """The one answer for 'does not exist' and 'outside your jurisdiction' (identical bytes)."""
    return ApiProblem(404, "not-found", "Not found",
                      f"no {what} with this identifier in your jurisdiction")


def problem_body(status: int, slug: str, title: str, detail: str,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail,
            **(extra or {})}


def problem_response(status: int, slug: str, title: str, detail: str,
                     headers: dict[str, str] | None = None,
                     extra: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(problem_body(status, slug, title, detail, extra), status_code=status,
                        media_type=PROBLEM_JSON, headers=headers)


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Field and rule of each error; the offending input and pydantic's message (which can
    quote it, e.g. 'Input should be ...') are dropped on purpose."""
    out = []
    for error in exc.errors():
        out.append({"field": error_field(error) or "request",
                    "rule": str(error.get("type", ""))})
    return out


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = _validation_errors(exc)
    hook = getattr(request.app.state, "on_invalid_request", None)
    if hook is not None:
        refused = await hook(request, errors)
        if refused is not None:
            return refused
    fields = ", ".join(f"{e['field']} ({e['rule']})" for e in errors[:10])
    return problem_response(422, "invalid-request", "Invalid request",
                            f"the request does not match the API: {fields}",
                            extra={"errors": errors})


def api_problem_response(exc: ApiProblem) -> JSONResponse:
    return problem_response(exc.status, exc.slug, exc.title, exc.detail, exc.headers,
                            exc.extra)


def project_error_response(request_id: str, exc: DataHubError) -> JSONResponse:
    """A project error's answer: its own text for 4xx, a generic one and the request id for
    5xx (the log keeps the class name)."""
    if isinstance(exc, ApiProblem):
        return api_problem_response(exc)
    if exc.status >= 500:
        log.error("request %s failed: %s", request_id, exc.__class__.__name__)
        return problem_response(exc.status, exc.slug, "Server error",
                                f"the hub could not complete the request; quote request id "
                                f"{request_id} to the administrator")
    return problem_response(exc.status, exc.slug, type(exc).__name__, str(exc))


async def _on_api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
    return api_problem_response(exc)


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    titles = {401: "Unauthenticated", 403: "Forbidden", 404: "Not found",
              405: "Method not allowed", 413: "Payload too large"}
    title = titles.get(exc.status_code, "HTTP error")
    detail = {404: "no such resource", 405: "this method is not allowed here"}.get(
        exc.status_code, title.lower())
    return problem_response(exc.status_code, title.lower().replace(" ", "-"), title, detail,
                            dict(exc.headers or {}))


async def _on_project_error(request: Request, exc: DataHubError) -> JSONResponse:
    return project_error_response(_request_id(request), exc)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The message of an unknown exception may quote data: log the class only.
    log.error("request %s failed: unexpected %s", _request_id(request),
              exc.__class__.__name__)
    return problem_response(500, "internal-error", "Server error",
                            f"unexpected error; quote request id {_request_id(request)} to "
                            "the administrator")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(ApiProblem, _on_api_problem)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http)  # type: ignore[arg-type]
    app.add_exception_handler(DataHubError, _on_project_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected)
