"""The gate of every resident-level read: authenticate, role, purpose, scope, then audit.

Each resident-level request leaves exactly one audit record, whether it returns data or is
refused, and the record is written before the answer: if the append fails, the caller gets
503 and no data. Out-of-scope and non-existent residents get the same 404 (the audit record
tells them apart for the auditor, the caller cannot).
"""

from __future__ import annotations

import json
import logging
from typing import Any, NoReturn

from fastapi import Request

from hub.api.deps import Services, forbidden, unauthenticated
from hub.api.problems import ApiProblem
from hub.security import access
from hub.security.errors import PurposeInvalid, PurposeRequired
from hub.security.roles import Principal

log = logging.getLogger("hub.api")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

# Roles that may read resident-level data at all (others get 403; scope decides the rest).
RESIDENT_ROLES = frozenset({"street_office", "admin"})
ANONYMOUS = "anonymous"


def role_name(principal: Any) -> str:
    role = getattr(principal, "role", None)
    return str(getattr(role, "value", role))


def audit_unavailable() -> ApiProblem:
    return ApiProblem(503, "audit-unavailable", "Audit log unavailable",
                      "the access could not be recorded in the audit log, so no data is "
                      "returned; try again later")


class ResidentGate:
    """One resident-level request: `admit` checks the caller, then `grant` or `refuse`."""

    def __init__(self, request: Request, services: Services, principal: Principal | None,
                 action: str) -> None:
        self.request = request
        self.services = services
        self.principal = principal
        self.action = action
        self.purpose: str | None = None
        self.recorded = False

    def record(self, outcome: str, resident_key: str | None = None,
               detail: str | None = None) -> int:
        """Append this request's audit record (once); 503 when it cannot be written."""
        p = self.principal
        fields: dict[str, Any] = {
            "request_id": str(getattr(self.request.state, "request_id", "")),
            "action": self.action, "purpose": self.purpose, "resident_key": resident_key,
            "outcome": outcome, "detail": detail,
        }
        if p is not None:
            fields["principal"] = p
        else:
            fields.update(actor=ANONYMOUS, role=ANONYMOUS, scope="")
        self.recorded = True
        try:
            return int(self.services.audit.append(**fields))
        except Exception as exc:  # AuditWriteFailed or the store itself: no record, no data
            log.error("audit append failed (%s) for request %s", exc.__class__.__name__,
                      fields["request_id"])
            raise audit_unavailable() from None

    def refuse(self, problem: ApiProblem, outcome: str, resident_key: str | None = None,
               detail: str | None = None) -> NoReturn:
        self.record(outcome, resident_key, detail)
        raise problem

    def admit(self, purpose: str | None) -> None:
        """Caller authenticated, allowed resident data at all, with a valid purpose."""
        if self.principal is None:
            self.refuse(unauthenticated(), "refused:unauthenticated")
        if role_name(self.principal) not in RESIDENT_ROLES:
            self.refuse(forbidden("this role may not read resident-level data"),
                        "refused:role")
        try:
            self.purpose = access.check_purpose(purpose)
        except (PurposeRequired, PurposeInvalid) as exc:
            required = isinstance(exc, PurposeRequired)
            slug = "purpose-required" if required else "purpose-invalid"
            problem = ApiProblem(400, slug, "Purpose required" if required else
                                 "Purpose invalid", str(exc))
            # The rejected text is not recorded: it is caller input and could hold anything.
            self.refuse(problem, "refused:" + slug.replace("-", "_"))

    @property
    def caller(self) -> Principal:
        if self.principal is None:  # admit() refused already; never grant without a caller
            raise unauthenticated()
        return self.principal

    def in_scope(self, street_code: str | None) -> bool:
        return access.can_read_resident(self.caller, street_code)

    def visible(self, document: dict[str, Any]) -> dict[str, Any]:
        return access.visible_view(self.caller, document)

    def visible_json(self, text: str) -> bytes | None:
        """What the caller may see of a published document (JSON text) as JSON bytes, or
        None when the resident is outside the caller's jurisdiction. A caller who sees the
        whole view gets the stored text as is: no parse, no re-serialisation."""
        caller = self.caller
        if access.sees_published_view(caller):
            return text.encode("utf-8")
        document = json.loads(text)
        street = (document.get("location") or {}).get("street_code")
        if not access.can_read_resident(caller, street):
            return None
        return _dumps(access.visible_view(caller, document)).encode("utf-8")

    def grid_in_scope(self, grid_code: str) -> bool:
        return access.can_read_grid(self.caller, grid_code)
