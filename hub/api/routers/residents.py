"""Residents: look up by ID number (in the body, never the URL) or by resident key."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from desensitize.errors import VaultDecryptFailed
from hub.api import examples
from hub.api.bodies import body_openapi, error_fields, invalid_request, parse_body, read_body
from hub.api.deps import (
    OptionalPrincipal,
    Purpose,
    Services,
    ServicesDep,
    forbidden,
    unauthenticated,
)
from hub.api.guard import ResidentGate
from hub.api.labels import LabelsParam, json_with_labels, requested_language
from hub.api.places import place_names
from hub.api.problems import ApiProblem, not_found
from hub.audit.ratelimit import RATE_LIMITED, ActionRateLimit, RateLimitBusy
from hub.security import access
from hub.security.errors import PurposeInvalid, PurposeRequired
from hub.security.purposes import REVEAL_PURPOSES
from hub.security.roles import Principal, Role
from hub.settings import RevealSettings
from hub.vault.reveal import Revealer, RevealRequest
from hub.vault.store import VaultStoreMissing
from schemas.value_labels import Language

router = APIRouter(prefix="/v1/residents", tags=["residents"])

ResidentKey = Annotated[str, Path(description="the resident's pseudonym (from a search or a "
                                              "grid listing)", pattern=r"^[0-9a-f]{32}$",
                                  examples=[examples.RESIDENT_KEY])]


class ResidentSearch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"id_number": "11010519410203123X", "purpose": "assistance_review"}]})

    id_number: str = Field(min_length=1, max_length=40,
                           description="resident ID number as written (18 or 15 characters)")
    purpose: str | None = Field(default=None, max_length=64,
                                description="why the data is needed (fixed list); required")


def _answer(gate: ResidentGate, services: Services, key: str | None,
            refused_detail: str | None = None, language: Language | None = None) -> Response:
    # The document as stored (JSON text): parsed only for a caller who sees part of it.
    text = services.documents.text(key) if key else None
    if text is None:
        # The key is not recorded: an unknown "key" is caller input and could be anything.
        gate.refuse(not_found("resident"), "not_found", detail=refused_detail)
    body = gate.visible_json(text)
    if body is None:  # outside the jurisdiction: the same 404 as an unknown resident
        gate.refuse(not_found("resident"), "refused:forbidden", key)
    gate.record("granted", key)  # no record, no data: written before the answer leaves
    names = place_names(services.settings) if language else None
    return Response(json_with_labels(body, language, names), media_type="application/json")


def _search(gate: ResidentGate, services: Services, body: ResidentSearch,
            language: Language | None) -> Response:
    gate.admit(body.purpose)
    key = services.resident_keys.key(body.id_number)
    return _answer(gate, services, key, None if key else "not a valid ID number", language)


def search_resident(request: Request, services: Services, principal: Principal | None,
                    body: ResidentSearch, labels: str | None = None) -> Response:
    """A search by ID number from a thread-pool thread (the console's page)."""
    gate = ResidentGate(request, services, principal, "resident.search")
    return _search(gate, services, body, requested_language(request, labels))


def get_resident(request: Request, services: Services, principal: Principal | None,
                 resident_key: str, purpose: str | None, labels: str | None = None) -> Response:
    """A read by resident key from a thread-pool thread (the console's page)."""
    gate = ResidentGate(request, services, principal, "resident.read")
    gate.admit(purpose)
    return _answer(gate, services, resident_key, language=requested_language(request, labels))


async def _recorded(gate: ResidentGate, services: Services,
                    decide: Callable[[], Response]) -> Response:
    """The answer `decide` builds, once its audit record is committed (hub.audit.group).
    `decide` runs on the event loop when the state store is a local file (an indexed read
    of microseconds), else in the document readers' threads: a networked store's round
    trips must not stop the loop."""
    try:
        response = await services.documents.off_loop(decide)
    except ApiProblem:
        await gate.commit()  # the refusal's record; a failed write answers 503 instead
        raise
    await gate.commit()
    return response


async def answer_search(request: Request, services: Services,
                        caller: Callable[[], Principal | None], body: ResidentSearch,
                        language: Language | None) -> Response:
    """A search by ID number from a coroutine (the API route, and hub.api.search_lane);
    `caller()` authenticates the request, with the decision (off the loop if the store is
    networked: a token read on a cache miss is a round trip too)."""
    gate = ResidentGate(request, services, None, "resident.search", deferred=True)

    def decide() -> Response:
        gate.principal = caller()
        return _search(gate, services, body, language)

    return await _recorded(gate, services, decide)


# The look-up routes are `async def`: on a local state store the work (an HMAC, one indexed
# read) takes microseconds, less than the hop to a thread-pool thread and back, and the
# audit record is committed with those of concurrent requests (docs/profiles.md). The
# search's usual requests are answered before FastAPI's routing (hub.api.search_lane); this
# route answers the rest (e.g. `labels`, a malformed body) and describes it in OpenAPI.
@router.post("/search", summary="Find a resident by ID number", name="search_resident",
             responses={200: examples.json_example(examples.RESIDENT, "the resident view"),
                        **examples.RESIDENT_ERRORS})
async def search_resident_route(request: Request, services: ServicesDep,
                                principal: OptionalPrincipal,
                                body: Annotated[ResidentSearch, Body()],
                                labels: LabelsParam = None) -> Response:
    """The resident view (masked profile, every department's facts, totals, overlaps, missed
    benefits). A resident outside your jurisdiction answers exactly like an unknown one."""
    return await answer_search(request, services, lambda: principal, body,
                               requested_language(request, labels))


@router.get("/{resident_key}", summary="Read a resident by key", name="get_resident",
            responses={200: examples.json_example(examples.RESIDENT, "the resident view"),
                       **examples.RESIDENT_ERRORS})
async def get_resident_route(request: Request, services: ServicesDep,
                             principal: OptionalPrincipal, resident_key: ResidentKey,
                             purpose: Purpose = None, labels: LabelsParam = None) -> Response:
    gate = ResidentGate(request, services, principal, "resident.read", deferred=True)
    language = requested_language(request, labels)

    def decide() -> Response:
        gate.admit(purpose)
        return _answer(gate, services, resident_key, language=language)

    return await _recorded(gate, services, decide)


# -- re-identification --------------------------------------------------------------------

REVEAL_ACTION = "reveal"
_RESIDENT_KEY = re.compile(r"[0-9a-f]{32}")
_reveal_lock = threading.Lock()


@dataclass
class RevealContext:
    """Built at a process's first reveal (the vault key), never at start-up."""

    services: Services
    policy: RevealSettings
    revealer: Revealer
    limit: ActionRateLimit


def reveal_context(request: Request, services: Services) -> RevealContext:
    context: RevealContext | None = getattr(request.app.state, "reveal", None)
    if context is None or context.services is not services:
        with _reveal_lock:
            context = getattr(request.app.state, "reveal", None)
            if context is None or context.services is not services:
                policy = services.settings.reveal
                limit = ActionRateLimit(services.audit,
                                        services.settings.state_dir / "reveal.lock",
                                        REVEAL_ACTION, policy.rate_limit,
                                        policy.rate_window_seconds)
                context = RevealContext(services, policy, Revealer(services.settings), limit)
                request.app.state.reveal = context
    return context


def _detail(**fields: Any) -> str:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def _check_reveal_purpose(gate: ResidentGate, purpose: str | None, key: str | None,
                          detail: str) -> None:
    try:
        if purpose is None or not purpose.strip():
            raise PurposeRequired(REVEAL_PURPOSES)
        if purpose.strip() not in REVEAL_PURPOSES:
            raise PurposeInvalid(REVEAL_PURPOSES)
    except (PurposeRequired, PurposeInvalid) as exc:
        slug = "purpose-required" if isinstance(exc, PurposeRequired) else "purpose-invalid"
        title = "Purpose required" if slug == "purpose-required" else "Purpose invalid"
        gate.refuse(ApiProblem(400, slug, title, str(exc)), "refused:" + slug.replace("-", "_"),
                    key, detail)
    gate.purpose = purpose.strip()


def _admit_role(gate: ResidentGate, principal: Principal | None, policy: RevealSettings,
                key: str | None) -> Principal:
    if principal is None:
        gate.refuse(unauthenticated(), "refused:unauthenticated", key)
    if principal.role == Role.STREET_OFFICE and not policy.street_office:
        gate.refuse(forbidden("street offices may not reveal raw identifiers on this hub"),
                    "refused:role", key)
    if principal.role not in (Role.ADMIN, Role.STREET_OFFICE):
        gate.refuse(forbidden("this role may not reveal raw identifiers"), "refused:role", key)
    return principal


def _reveal(request: Request, services: Services, principal: Principal | None,
            resident_key: str, raw: bytes | None) -> JSONResponse:
    gate = ResidentGate(request, services, principal, REVEAL_ACTION)
    # A well-formed key is 32 hex characters and cannot carry a value, so even refusals
    # record it: the resident's access report then shows attempts too.
    key = resident_key if _RESIDENT_KEY.fullmatch(resident_key) else None
    context = reveal_context(request, services)
    caller = _admit_role(gate, principal, context.policy, key)
    body, errors = parse_body(raw, RevealRequest)
    if key is None:
        errors = [{"field": "path.resident_key", "rule": "string_pattern_mismatch"}, *errors]
    if body is None or key is None or errors:
        gate.refuse(invalid_request(errors), "refused:invalid_request", key,
                    _detail(fields=error_fields(errors)))
    detail = {"case_reference": body.case_reference}
    _check_reveal_purpose(gate, body.purpose, key, _detail(**detail))
    try:
        with context.limit.hold(caller.actor) as verdict:
            if not verdict.allowed:
                wait = str(verdict.retry_after)
                gate.refuse(ApiProblem(
                    429, "rate-limited", "Too many reveals",
                    f"at most {verdict.limit} reveals per {context.policy.rate_window_seconds} "
                    f"s per token; retry after {wait} s", headers={"Retry-After": wait}),
                    RATE_LIMITED, key, _detail(**detail))
            return _reveal_resident(gate, services, context, caller, key, detail)
    except RateLimitBusy:
        gate.refuse(ApiProblem(503, "busy", "Busy", "reveals are queued behind another "
                               "process; try again shortly"), "failed:busy", key,
                    _detail(**detail))


def _reveal_resident(gate: ResidentGate, services: Services, context: RevealContext,
                     caller: Principal, key: str, detail: dict[str, Any]) -> JSONResponse:
    """Inside the rate-limit lock: find, authorise, open, record, answer (in that order)."""
    document = services.views.resident(key)
    if document is None:
        gate.refuse(not_found("resident"), "not_found", key, _detail(**detail))
    street = (document.get("location") or {}).get("street_code")
    if not access.can_reveal(caller, street, context.policy.street_office):
        gate.refuse(not_found("resident"), "refused:forbidden", key, _detail(**detail))

    def dataset_of(batch_id: str) -> str | None:
        batch = services.catalog.get_batch(batch_id)
        return str(batch["dataset"]) if batch else None

    try:
        fields = context.revealer.reveal(key, dataset_of)
    except VaultStoreMissing:
        gate.refuse(ApiProblem(503, "vault-unavailable", "Vault unavailable",
                               "the vault copy has not been published yet; run `hub publish`"),
                    "failed:vault_unavailable", key, _detail(**detail))
    except VaultDecryptFailed:
        gate.refuse(ApiProblem(500, "vault-decrypt-failed", "Server error",
                               "a vault entry did not open; the administrator must check the "
                               "vault key"), "failed:vault_decrypt", key, _detail(**detail))
    if not fields:
        gate.refuse(not_found("resident"), "not_found", key,
                    _detail(**detail, vault="no entries"))
    # No record, no data: the answer is built only after the record is written.
    seq = gate.record("granted", key, _detail(**detail, fields=list(fields)))
    content = {"resident_key": key, "purpose": gate.purpose,
               "case_reference": detail["case_reference"], "audit_seq": seq, "fields": fields}
    return JSONResponse(content, headers={"Cache-Control": "no-store"})


REVEAL_EXAMPLE = {
    "resident_key": examples.RESIDENT_KEY, "purpose": "case_management",
    "case_reference": "SO-2026-0042", "audit_seq": 4711,
    "fields": {"resident_id": [{"value": "11010519410203123X", "sources": [
        {"dataset": "grid", "batch_id": "b-20261101-grid-1"}]}],
        "phone": [{"value": "13800138000", "sources": [
            {"dataset": "grid", "batch_id": "b-20261101-grid-1"}]}]}}


@router.post("/{resident_key}/reveal", summary="Reveal a resident's raw identifiers",
             openapi_extra=body_openapi(RevealRequest),
             responses={200: examples.json_example(REVEAL_EXAMPLE, "raw identifiers with "
                                                   "their sources (Cache-Control: no-store)"),
                        **examples.RESIDENT_ERRORS,
                        422: {"description": "malformed body or key (field and rule only)"},
                        429: {"description": "too many reveals by this token (Retry-After)"}})
async def reveal_resident(request: Request, services: ServicesDep,
                          principal: OptionalPrincipal,
                          resident_key: Annotated[str, Path(
                              description="the resident's pseudonym", max_length=64,
                              examples=[examples.RESIDENT_KEY])]) -> JSONResponse:
    """ID number, name, phone, address and household number as the departments sent them,
    each with the dataset and batch it came from. Administrators; street offices only for
    their own residents and only where HUB_REVEAL_STREET_OFFICE=true. Needs a reveal purpose
    and a case reference; every attempt is audited; rate-limited per token."""
    raw = await read_body(request)
    return await run_in_threadpool(_reveal, request, services, principal, resident_key, raw)
