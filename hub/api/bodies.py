"""JSON bodies that a route parses itself, so that even a malformed one is audited.

FastAPI validates a declared body before the route runs, and its 422 reaches the audit log
only for routes listed in hub.api.app.RESIDENT_ROUTES. The reveal and access-report routes
must record every attempt, a malformed one included, so they read the raw body (bounded) and
validate it here, producing the same value-free problem as hub.api.problems: field and rule.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from hub.api.problems import ApiProblem
from hub.api.validation_fields import error_field

M = TypeVar("M", bound=BaseModel)
MAX_BODY_BYTES = 4096  # these bodies hold a few short fields


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The body, or None when it is longer than `limit` (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(raw: bytes | None, model: type[M]) -> tuple[M | None, list[dict[str, str]]]:
    """(the model, []) or (None, [{field, rule}, ...]); pydantic's messages are dropped on
    purpose because they can quote the input."""
    if raw is None:
        return None, [{"field": "body", "rule": "too_long"}]
    try:
        data: Any = json.loads(raw) if raw.strip() else None
    except ValueError:
        return None, [{"field": "body", "rule": "json_invalid"}]
    if data is None:
        return None, [{"field": "body", "rule": "missing"}]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            errors.append({"field": error_field(error, ("body",)),
                           "rule": str(error.get("type", ""))})
        return None, errors


def invalid_request(errors: list[dict[str, str]]) -> ApiProblem:
    fields = ", ".join(f"{e['field']} ({e['rule']})" for e in errors[:10])
    return ApiProblem(422, "invalid-request", "Invalid request",
                      f"the request does not match the API: {fields}",
                      extra={"errors": errors})


def error_fields(errors: list[dict[str, str]]) -> str:
    """Field names for the audit detail (no rules: keep the record short)."""
    return ",".join(sorted({e["field"] for e in errors}))[:200]


def body_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting the body a route parses itself."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": model.model_json_schema()}}}}
