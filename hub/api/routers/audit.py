"""The evidence log, for auditors: who looked at whom, for what, including refusals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.api.deps import CurrentPrincipal, ServicesDep, forbidden
from hub.api.responses import MAX_OFFSET, problems, utc_text
from hub.audit.publisher import list_checkpoints
from hub.security import access

router = APIRouter(prefix="/v1/audit", tags=["audit"])

EVENT_EXAMPLE = {
    "seq": 42, "at": "2026-11-01T09:15:02.123456Z", "request_id": "5f0c6d2e9a8b4c7d",
    "actor": "a1b2c3d4e5f60718:street-110105001", "role": "street_office",
    "scope": ["110105001"], "action": "resident.search", "purpose": "assistance_review",
    "resident_key": "3f1c9a5e0b7d4c21a8e6f0b2d4c6e8a1", "outcome": "refused:forbidden",
    "detail": None, "prev_hash": "9c1f...", "hash": "be07..."}


@router.get("/events", summary="Search the audit log",
            responses={200: {"description": "matching records, newest first", "content": {
                "application/json": {"example": {"events": [EVENT_EXAMPLE], "offset": 0,
                                                 "limit": 100}}}}})
def audit_events(
    services: ServicesDep, principal: CurrentPrincipal,
    actor: Annotated[str | None, Query(max_length=200,
                                       description="full actor or its token id")] = None,
    resident_key: Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$")] = None,
    action: Annotated[str | None, Query(pattern=r"^[a-z_.]{1,64}$",
                                        examples=["resident.search"])] = None,
    outcome: Annotated[str | None, Query(
        pattern=r"^[a-z_:]{1,48}$",
        description="`granted`, `not_found`, `refused` (every refusal) or one refusal such "
                    "as `refused:forbidden`")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Auditors and administrators only. `since` is inclusive, `until` exclusive."""
    if not access.can_read_audit(principal):
        raise forbidden("only auditors and administrators may read the audit log")
    events = services.audit.search(actor=actor, resident_key=resident_key, outcome=outcome,
                                   action=action,
                                   since=utc_text(since, "since"),
                                   until=utc_text(until, "until"), offset=offset, limit=limit)
    return {"events": events, "offset": offset, "limit": limit}


CHECKPOINT_EXAMPLE = {
    "format": "hub-audit-checkpoint/1", "seq": 4712, "hash": "be07...",
    "at": "2026-11-01T09:20:00Z", "signature": "5a1f...", "public_key": "d75a..."}


@router.get("/checkpoints", summary="Signed checkpoints of the audit log, for witnesses",
            responses={200: {"description": "checkpoints signed at or after `since`, oldest "
                             "first", "content": {"application/json": {"example": {
                                 "checkpoints": [CHECKPOINT_EXAMPLE], "limit": 1000}}}},
                       **problems(401, 403, 422)})
def audit_checkpoints(
    services: ServicesDep, principal: CurrentPrincipal,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> dict[str, Any]:
    """Auditors and administrators only. Keep copies off this machine
    (`hub audit fetch-checkpoints`); `hub audit verify --checkpoint-dir` checks the log
    against them with the public key only."""
    if not access.can_read_audit(principal):
        raise forbidden("only auditors and administrators may read audit checkpoints")
    docs = list_checkpoints(services.settings.audit_dir, utc_text(since, "since"), limit)
    return {"checkpoints": docs, "limit": limit}
