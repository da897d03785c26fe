"""RFC 7807 problem responses, and the map from every project error class to an HTTP status.

A problem body names what went wrong and the next step; it never echoes a request value
(an ID number typed into a search must not come back in a 422). Validation errors name the
field and the rule only. Project error messages name files, rows, columns and rules by design
(never values), so their text may be shown for 4xx; a 5xx shows a generic text and the request
id, and the log keeps the class name.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalog import errors as catalog_errors
from connectors import errors as connector_errors
from desensitize import errors as desensitize_errors
from desensitize.release import errors as release_errors
from hub import errors as hub_errors
from hub.api.validation_fields import error_field
from hub.pipeline.crosswalk import CrosswalkInvalid
from hub.release import errors as export_errors
from hub.rotation import errors as rotation_errors
from hub.security.ratelimit import RateLimitBusy
from hub.vault.access_report import IdNumberInvalid
from hub.vault.store import VaultStoreMissing
from hub.views.rules import RulesInvalid
from schemas import errors as schema_errors

log = logging.getLogger("hub.api")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://community-data-hub.invalid/problems/"


class ApiProblem(Exception):
    """An error the API raises itself: status, a stable slug and a value-free detail."""

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


# Every error class of hub, connectors, schemas, desensitize, catalog (and security/audit
# when present) -> HTTP status. tests/api/test_problems.py checks that none is missing.
_STATUSES: dict[type[BaseException], int] = {
    schema_errors.SchemaError: 500,
    schema_errors.ContractNotFound: 404,
    schema_errors.ContractInvalid: 500,  # a broken contract on the server, not the caller's
    schema_errors.ContractViolation: 422,
    connector_errors.ConnectorError: 422,
    connector_errors.SourceInvalid: 500,  # source YAMLs are server configuration
    connector_errors.ExtractUnreadable: 422,
    connector_errors.EncodingMismatch: 422,
    connector_errors.MissingColumns: 422,
    connector_errors.SourceUnavailable: 502,
    desensitize_errors.DesensitizeError: 500,
    desensitize_errors.KeyProblem: 503,
    desensitize_errors.KeyFileInsecure: 503,
    desensitize_errors.KeyFileInvalid: 503,
    desensitize_errors.KeyFolderInsecure: 503,
    desensitize_errors.KeyMissing: 503,
    desensitize_errors.KeyInvalid: 503,
    desensitize_errors.KeyWeak: 503,
    desensitize_errors.KeysShareMaterial: 503,
    desensitize_errors.KeyReferenceInvalid: 503,
    desensitize_errors.KeyLengthInvalid: 503,
    desensitize_errors.VaultError: 500,
    desensitize_errors.VaultDecryptFailed: 500,
    desensitize_errors.VaultResidentMissing: 500,
    desensitize_errors.PolicyError: 500,
    desensitize_errors.NoIdentityColumn: 500,
    desensitize_errors.FrameColumnMissing: 500,
    catalog_errors.CatalogError: 500,
    catalog_errors.DatasetUnknown: 404,
    catalog_errors.CatalogUnavailable: 503,
    hub_errors.HubError: 500,
    hub_errors.WarehouseBusy: 503,
    hub_errors.WarehouseError: 503,
    hub_errors.IngestRejected: 422,
    hub_errors.StateStoreError: 503,
    CrosswalkInvalid: 422,
    RulesInvalid: 500,
    release_errors.ReleaseError: 500,  # safe releases (helper A); most run in the worker
    release_errors.ReleaseParameterInvalid: 400,
    release_errors.ReleaseColumnMissing: 500,
    release_errors.ReleaseEmpty: 409,
    release_errors.ReleaseNotPossible: 422,
    export_errors.ExportError: 500,
    export_errors.ExportFormatUnsupported: 400,
    export_errors.ExportTargetExists: 409,
    IdNumberInvalid: 422,  # the access-report request names a malformed ID number
    RateLimitBusy: 503,  # the rate-limit lock is held too long: retry shortly
    VaultStoreMissing: 503,  # reveal before the first publish: the operator must publish
    # Key rotation runs from the CLI; while it is half done the API answers 503 (retry later).
    rotation_errors.RotationError: 503,
    rotation_errors.RotationInProgress: 503,
    rotation_errors.RotationConflict: 409,
    rotation_errors.RotationKeyReference: 500,
    rotation_errors.RotationKeyMismatch: 500,
    rotation_errors.RotationUnmappable: 500,
    rotation_errors.RotationNotAbortable: 409,
    rotation_errors.RotationNothingToDo: 409,
}
# hub.serve.ServeRefused is a start-up refusal of `hub serve` (exit code, never an HTTP answer);
# it is registered lazily below to keep the API from importing the server module.

# Security and audit errors by class name, resolved when those modules exist.
_SECURITY_STATUSES: dict[str, int] = {
    "SecurityError": 403,
    "PurposeRequired": 400,
    "PurposeInvalid": 400,
    "ScopeInvalid": 400,
    "RoleInvalid": 400,
    "TokenNameInvalid": 400,
    "TokenStoreUnavailable": 503,
    "AuditError": 503,
    "AuditWriteFailed": 503,
    "AuditChainBroken": 500,
    "AuditCheckpointInvalid": 500,
    "CheckpointInvalid": 500,
    "CheckpointMissing": 500,
    "AuditUnavailable": 503,
    "AuditConfigInvalid": 500,  # HUB_AUDIT_SYNCHRONOUS: fixed by the operator, not the caller
    "WitnessFetchFailed": 502,  # the CLI's fetch from a hub; never raised inside the API
}

SECURITY_ERROR_MODULES = ("hub.security.errors", "hub.audit.errors")


@cache
def status_registry() -> dict[type[BaseException], int]:
    import importlib
    import inspect

    from hub.serve import ServeRefused

    registry = dict(_STATUSES)
    registry[ServeRefused] = 503

    for name in SECURITY_ERROR_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, Exception) and cls.__module__ == name
                    and cls_name in _SECURITY_STATUSES):
                registry[cls] = _SECURITY_STATUSES[cls_name]
    return registry


def status_for(exc: BaseException) -> int | None:
    """The status of the nearest registered class in the error's MRO (None: unknown)."""
    registry = status_registry()
    for cls in type(exc).__mro__:
        if cls in registry:
            return registry[cls]
    return None


def _slug(cls: type[BaseException]) -> str:
    name = cls.__name__
    return "".join("-" + c.lower() if c.isupper() and i else c.lower()
                   for i, c in enumerate(name))


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


async def _on_api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
    return problem_response(exc.status, exc.slug, exc.title, exc.detail, exc.headers,
                            exc.extra)


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    titles = {401: "Unauthenticated", 403: "Forbidden", 404: "Not found",
              405: "Method not allowed", 413: "Payload too large"}
    title = titles.get(exc.status_code, "HTTP error")
    detail = {404: "no such resource", 405: "this method is not allowed here"}.get(
        exc.status_code, title.lower())
    return problem_response(exc.status_code, title.lower().replace(" ", "-"), title, detail,
                            dict(exc.headers or {}))


async def _on_project_error(request: Request, exc: Exception) -> JSONResponse:
    status = status_for(exc)
    rid = _request_id(request)
    if status is None or status >= 500:
        log.error("request %s failed: %s", rid, exc.__class__.__name__)
        return problem_response(status or 500, _slug(type(exc)), "Server error",
                                f"the hub could not complete the request; quote request id "
                                f"{rid} to the administrator")
    return problem_response(status, _slug(type(exc)), type(exc).__name__, str(exc))


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
    for cls in status_registry():
        if issubclass(cls, Exception):
            app.add_exception_handler(cls, _on_project_error)
    app.add_exception_handler(Exception, _on_unexpected)
