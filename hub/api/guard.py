"""The gate of every resident-level read: authenticate, role, purpose, scope, then audit.

Street offices read their jurisdiction and admins everything by their static scope; a
department reads residents only through approved, unexpired sharing grants for the purpose
it states, and sees exactly the granted columns (hub.casework.grants).

Each resident-level request leaves exactly one audit record, whether it returns data or is
refused, and the record is written before the answer: if the append fails, the caller gets
503 and no data. A gate made with `deferred=True` (the look-up routes on the event loop)
holds its record until `commit`, which writes it together with the records of concurrent
requests (hub.audit.group); the caller sends the answer only after `commit` returned.
Out-of-scope and non-existent residents get the same 404 (the audit record tells them apart
for the auditor, the caller cannot).
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any, NoReturn

from fastapi import Request

from hub.api.deps import Services, forbidden, unauthenticated
from hub.api.problems import ApiProblem
from hub.casework.grants import granted_view
from hub.security import access
from hub.security.errors import PurposeInvalid, PurposeRequired
from hub.security.roles import Principal, Role

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
                 action: str, deferred: bool = False) -> None:
        self.request = request
        self.deferred = deferred
        self.pending: dict[str, Any] | None = None  # the deferred record, until `commit`
        self.services = services
        self.principal = principal
        self.action = action
        self.purpose: str | None = None
        self.recorded = False
        # dataset -> columns: a department's approved sharing requests for this purpose
        self.grants: dict[str, set[str]] = {}

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
        if self.deferred:
            self.pending = fields
            return 0
        try:
            return int(self.services.audit.append(**fields))
        except Exception as exc:  # AuditWriteFailed or the store itself: no record, no data
            raise self._failed(exc) from None

    async def commit(self) -> None:
        """Write the deferred record (if any); 503 when it cannot be written."""
        fields, self.pending = self.pending, None
        if fields is None:
            return
        try:
            await self.services.audit.append_async(**fields)
        except Exception as exc:
            raise self._failed(exc) from None

    def _failed(self, exc: Exception) -> ApiProblem:
        log.error("audit append failed (%s) for request %s", exc.__class__.__name__,
                  getattr(self.request.state, "request_id", ""))
        return audit_unavailable()

    def refuse(self, problem: ApiProblem, outcome: str, resident_key: str | None = None,
               detail: str | None = None) -> NoReturn:
        self.record(outcome, resident_key, detail)
        raise problem

    def admit(self, purpose: str | None) -> None:
        """Caller authenticated, allowed resident data at all, with a valid purpose."""
        if self.principal is None:
            self.refuse(unauthenticated(), "refused:unauthenticated")
        granted_role = role_name(self.principal) == Role.DEPARTMENT.value
        if role_name(self.principal) not in RESIDENT_ROLES and not granted_role:
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
        if granted_role:
            # A department reads residents only through granted, unexpired sharing requests
            # for this purpose (hub.casework.sharing), and then the granted columns only.
            self.grants = self._grants()
            if not self.grants:
                self.refuse(forbidden("this department holds no sharing grant for this "
                                      "purpose; apply with POST /v1/sharing-requests"),
                            "refused:no_grant")

    def _grants(self) -> dict[str, set[str]]:
        from hub.api.casework_deps import casework_of

        grants = casework_of(self.services).sharing.grants(self.caller, date.today())
        return {d: c for (d, p), c in grants.items() if p == self.purpose}

    @property
    def caller(self) -> Principal:
        if self.principal is None:  # admit() refused already; never grant without a caller
            raise unauthenticated()
        return self.principal

    def in_scope(self, street_code: str | None) -> bool:
        if self.grants:  # a grant covers every resident with data of a granted dataset
            return False
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
        if self.grants:
            shown = granted_view(document, self.grants)
            return _dumps(shown).encode("utf-8") if shown["departments"] else None
        street = (document.get("location") or {}).get("street_code")
        if not access.can_read_resident(caller, street):
            return None
        return _dumps(access.visible_view(caller, document)).encode("utf-8")

    def grid_in_scope(self, grid_code: str) -> bool:
        return access.can_read_grid(self.caller, grid_code)
