"""The error side of the OpenAPI contract: the Problem schema and the answers every route
can give besides its own.

Routers name their specific error answers with `problems(...)`; `install_contract` adds, to
every operation of the document, the statuses any authenticated route can answer (401, 403,
404, 422, 500, 503) as `application/problem+json` with the Problem schema, and replaces
FastAPI's default `application/json` validation error, which this API never sends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from hub.api.problems import PROBLEM_JSON, ApiProblem

# Bounds of paging parameters: past these an offset means nothing and would overflow the
# state store's 64-bit integers.
MAX_OFFSET = 10_000_000

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
DESCRIPTIONS = {
    400: "bad request (e.g. purpose missing or not allowed)",
    401: "no valid API token",
    403: "this token may not do this",
    404: "not found, or outside the caller's jurisdiction (the same answer)",
    409: "conflicts with the current state",
    413: "payload over the size limit",
    422: "the request does not match the API (field and rule only, never the value)",
    429: "too many requests (Retry-After)",
    500: "server error (quote the request id)",
    502: "a source system did not answer",
    503: "the hub or its audit log is unavailable; retry later",
}
# Every authenticated route may answer these; routes add their own with `problems(...)`.
COMMON = (401, 403, 404, 422, 500, 503)


class FieldRule(BaseModel):
    model_config = ConfigDict(extra="allow")

    field: str
    rule: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details: what went wrong and the next step, never a sent value."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://community-data-hub.invalid/problems/not-found"])
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    errors: list[FieldRule] | None = None


def problem_content() -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": PROBLEM_REF}}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A `responses=` entry for each status: problem+json with the Problem schema."""
    return {status: {"description": DESCRIPTIONS.get(status, "error"),
                     "content": problem_content()} for status in statuses}


def utc_text(value: datetime | None, field: str) -> str | None:
    """A query datetime as UTC text; a moment that cannot be told in UTC (year 1 with a
    positive offset, say) is a 422, not an overflow."""
    if value is None:
        return None
    try:
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (OverflowError, ValueError):
        raise ApiProblem(422, "invalid-request", "Invalid request",
                         f"the request does not match the API: query.{field} (datetime_range)",
                         extra={"errors": [{"field": f"query.{field}",
                                            "rule": "datetime_range"}]}) from None


def _document_errors(operation: dict[str, Any], secured: bool) -> None:
    answers = operation.setdefault("responses", {})
    for status in (COMMON if secured else (500,)):
        answers.setdefault(str(status), {"description": DESCRIPTIONS[status]})
    for code, answer in answers.items():
        if not code.isdigit() or int(code) < 400:
            continue
        content = answer.setdefault("content", {})
        if not secured and "application/json" in content:
            continue  # /healthz answers its own JSON when not ready
        content.pop("application/json", None)
        content[PROBLEM_JSON] = {**content.get(PROBLEM_JSON, {}), "schema": PROBLEM_REF}


def install_contract(app: FastAPI) -> None:
    """Build the OpenAPI document once, with every error answer documented."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes,
                               tags=app.openapi_tags)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        schemas["FieldRule"] = FieldRule.model_json_schema()
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        problem.pop("$defs", None)
        schemas["Problem"] = problem
        for path_item in document.get("paths", {}).values():
            for operation in path_item.values():
                if isinstance(operation, dict) and "responses" in operation:
                    _document_errors(operation, bool(operation.get("security")))
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
