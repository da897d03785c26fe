"""Administrators: a resident's access report (who looked at their data, for what purpose).

The ID number travels in the JSON body, never in the URL (URLs reach proxies and logs). The
request is itself recorded in the audit log, under the resident's current pseudonym, before
the report is returned; a malformed body is recorded too (the route parses it itself, see
hub.api.bodies), and no answer ever echoes the number.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from desensitize.errors import VaultDecryptFailed
from hub.api import examples
from hub.api.bodies import body_openapi, error_fields, invalid_request, parse_body, read_body
from hub.api.deps import OptionalPrincipal, Services, ServicesDep, forbidden, unauthenticated
from hub.api.guard import ResidentGate
from hub.api.problems import ApiProblem
from hub.security.purposes import ACCESS_REPORT_PURPOSE
from hub.security.roles import Principal, Role
from hub.vault.access_report import IdNumberInvalid, build_access_report

router = APIRouter(prefix="/v1/admin", tags=["admin"])

ACCESS_REPORT_ACTION = "access_report"


class AccessReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"id_number": "11010519410203123X"}]})

    id_number: str = Field(min_length=1, max_length=40,
                           description="the resident's ID number as written (18 or 15 "
                                       "characters)")


def _detail(**fields: Any) -> str:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def _access_report(request: Request, services: Services, principal: Principal | None,
                   raw: bytes | None) -> JSONResponse:
    gate = ResidentGate(request, services, principal, ACCESS_REPORT_ACTION)
    gate.purpose = ACCESS_REPORT_PURPOSE
    if principal is None:
        gate.refuse(unauthenticated(), "refused:unauthenticated")
    if principal.role != Role.ADMIN:
        gate.refuse(forbidden("only administrators may produce access reports"),
                    "refused:role")
    body, errors = parse_body(raw, AccessReportRequest)
    if body is None:
        gate.refuse(invalid_request(errors), "refused:invalid_request",
                    detail=_detail(fields=error_fields(errors)))
    try:
        report = build_access_report(services.settings, body.id_number, engine=services.engine)
    except IdNumberInvalid as exc:
        errors = [{"field": "body." + exc.field, "rule": exc.rule}]
        gate.refuse(invalid_request(errors), "refused:invalid_request",
                    detail=_detail(fields=error_fields(errors), rule=exc.rule))
    except VaultDecryptFailed:
        gate.refuse(ApiProblem(500, "vault-decrypt-failed", "Server error",
                               "the key history did not open; the administrator must check "
                               "the vault key"), "failed:vault_decrypt")
    # No record, no data: the report is returned only after its own record is written.
    seq = gate.record("granted", report.resident_key, _detail(events=len(report.events)))
    content = {
        "events": [e.as_dict() for e in report.events],
        "resident_keys_searched": report.resident_keys,
        "household_keys_searched": report.household_keys,
        "history_available": report.history_available,
        "audit_seq": seq,
    }
    return JSONResponse(content, headers={"Cache-Control": "no-store"})


ACCESS_REPORT_EXAMPLE = {
    "events": [{"seq": 42, "at": "2026-11-01T09:15:02.123456Z", "actor": "street-110105001",
                "token_id": "a1b2c3d4e5f60718", "role": "street_office",
                "action": "resident.search", "purpose": "assistance_review",
                "outcome": "granted", "subject": "resident", "earlier_key": False}],
    "resident_keys_searched": 2, "household_keys_searched": 1, "history_available": True,
    "audit_seq": 4712}


@router.post("/access-report", summary="Who looked at a resident's data",
             openapi_extra=body_openapi(AccessReportRequest),
             responses={200: examples.json_example(ACCESS_REPORT_EXAMPLE, "every audit "
                                                   "record about the resident, oldest first"),
                        401: examples.UNAUTHENTICATED, 403: examples.FORBIDDEN,
                        422: {"description": "malformed body or not a valid ID number "
                                             "(field and rule only, never the value)"},
                        503: examples.AUDIT_DOWN})
async def access_report(request: Request, services: ServicesDep,
                        principal: OptionalPrincipal) -> JSONResponse:
    """Administrators only. Every audit record about the resident (reads, searches, reveals,
    household reads, earlier access reports; granted or refused), including records made
    under pseudonyms that a key rotation has since replaced. This request is audited."""
    raw = await read_body(request)
    return await run_in_threadpool(_access_report, request, services, principal, raw)
