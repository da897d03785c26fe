"""Conditional-sharing requests: a department or street office asks for `conditional` columns
of another department's dataset, with purpose, legal basis and period; the owner approves
(possibly fewer columns, a shorter period) or refuses with a reason, within the deadline.

    pending -> approved (a grant: the API lets the requester's party read exactly the granted
                         columns through `granted_until`, hub.casework.grants)
            -> refused (a reason category)
    approved -> expired (the day after `granted_until`; `expire_grants` records it)

`not_shared` datasets and columns cannot be requested. Every step is audited.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update

from hub.casework.calendar import default_calendar
from hub.casework.clock import with_clock
from hub.casework.errors import (
    ItemInvalid,
    ItemNotFound,
    NotRequestable,
    NotYourStep,
    StepNotAllowed,
)
from hub.casework.parties import oversees, owner_of, owns, party
from hub.casework.steps import Steps, actor_of, now, row_dict
from hub.casework.vocabulary import check
from hub.security.purposes import PURPOSE_DESCRIPTIONS
from hub.security.roles import Principal, Role
from hub.settings import CaseworkSettings
from hub.state.casework_tables import sharing_requests
from schemas.registry import all_contracts
from schemas.spec import SharingClass

KIND = "sharing"
MAX_PERIOD_DAYS = 366 * 2


def requestable_columns(dataset: str) -> list[str]:
    """The columns of `dataset` that may be asked for (not `not_shared`)."""
    contract = all_contracts()[dataset]
    return [c.name for c in contract.columns if c.sharing != SharingClass.NOT_SHARED]


class SharingRequests:
    def __init__(self, steps: Steps, settings: CaseworkSettings) -> None:
        self.steps = steps
        self.engine = steps.engine
        self.settings = settings

    def apply(self, principal: Principal, dataset: str, columns: list[str], purpose: str,
              legal_basis: str, legal_reference: str, period_start: date, period_end: date,
              today: date) -> dict[str, Any]:
        if principal.role not in (Role.DEPARTMENT, Role.STREET_OFFICE):
            raise NotYourStep(KIND, "apply")
        owner_of(dataset)
        if owns(principal, dataset):
            raise ItemInvalid("dataset", "your own dataset needs no request")
        contract = all_contracts()[dataset]
        if contract.sharing == SharingClass.NOT_SHARED:
            raise NotRequestable(dataset, [])
        unknown = sorted(set(columns) - set(contract.column_names))
        if unknown or not columns:
            raise ItemInvalid("columns", f"name one or more columns of {dataset}'s contract")
        closed = sorted(set(columns) - set(requestable_columns(dataset)))
        if closed:
            raise NotRequestable(dataset, closed)
        if purpose not in PURPOSE_DESCRIPTIONS:
            raise ItemInvalid("purpose", "not one of the fixed purposes")
        check("legal_bases", "legal_basis", legal_basis)
        if not 1 <= len(legal_reference.strip()) <= 120:
            raise ItemInvalid("legal_reference", "name the article or document (1-120 chars)")
        if period_end < period_start or period_end < today or \
                (period_end - period_start).days > MAX_PERIOD_DAYS:
            raise ItemInvalid("period", "end on or after the start and today, at most 2 years")
        request_id = "sr-" + secrets.token_hex(8)
        due = default_calendar().add_working_days(today, self.settings.sharing_reply_days)
        with self.engine.begin() as conn:
            conn.execute(insert(sharing_requests).values(
                request_id=request_id, dataset=dataset, department=owner_of(dataset),
                columns=sorted(set(columns)), purpose=purpose, legal_basis=legal_basis,
                legal_reference=legal_reference.strip(), period_start=period_start,
                period_end=period_end, requester=actor_of(principal),
                requester_party=party(principal), status="pending", created_at=now(),
                due_date=due))
            self.steps.history(conn, KIND, request_id, "applied", principal,
                               {"columns": sorted(set(columns))})
        self.steps.audit_step(KIND, request_id, "apply", principal, purpose=purpose,
                              detail={"dataset": dataset, "columns": sorted(set(columns))})
        return self.get(principal, request_id, today)

    def _row(self, request_id: str, today: date) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(sharing_requests).where(
                sharing_requests.c.request_id == request_id)).first()
        if row is None:
            raise ItemNotFound(KIND, request_id)
        return with_clock(row_dict(row), today)

    @staticmethod
    def visible(principal: Principal, item: dict[str, Any]) -> bool:
        return (oversees(principal) or owns(principal, item["dataset"])
                or item["requester_party"] == party(principal))

    def get(self, principal: Principal, request_id: str, today: date) -> dict[str, Any]:
        item = self._row(request_id, today)
        if not self.visible(principal, item):
            raise ItemNotFound(KIND, request_id)
        return {**item, "history": self.steps.events(KIND, request_id)}

    def listing(self, principal: Principal, today: date, status: str | None = None
             ) -> list[dict[str, Any]]:
        t = sharing_requests
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.due_date, t.c.request_id)).all()
        items = [with_clock(row_dict(r), today) for r in rows]
        items = [i for i in items if self.visible(principal, i)]
        if status == "overdue":
            return [i for i in items if i["clock"]["overdue"]]
        return [i for i in items if status is None or i["status"] == status]

    def _decide(self, principal: Principal, request_id: str, step: str,
                values: dict[str, Any], today: date, detail: dict[str, Any]
                ) -> dict[str, Any]:
        item = self._row(request_id, today)
        if not self.visible(principal, item):
            raise ItemNotFound(KIND, request_id)
        if not owns(principal, item["dataset"]):
            raise NotYourStep(KIND, step)
        t = sharing_requests
        with self.engine.begin() as conn:
            changed = conn.execute(update(t).where(
                t.c.request_id == request_id, t.c.status == "pending").values(
                decided_by=actor_of(principal), decided_at=now(), **values))
            if changed.rowcount != 1:
                raise StepNotAllowed(KIND, request_id, step, item["status"])
            self.steps.history(conn, KIND, request_id, step, principal, detail)
        self.steps.audit_step(KIND, request_id, step, principal, detail=detail)
        return self.get(principal, request_id, today)

    def approve(self, principal: Principal, request_id: str, columns: list[str] | None,
                until: date | None, today: date) -> dict[str, Any]:
        """Approve all or some of the columns asked for, through `until` (at most the end of
        the period asked for)."""
        item = self._row(request_id, today)
        asked = list(item["columns"])
        granted = sorted(set(columns)) if columns else asked
        if not granted or not set(granted) <= set(asked):
            raise ItemInvalid("columns", "grant one or more of the columns asked for")
        end = date.fromisoformat(item["period_end"])
        until = until or end
        if until > end or until < today:
            raise ItemInvalid("until", "between today and the end of the period asked for")
        return self._decide(principal, request_id, "approve",
                            {"status": "approved", "granted_columns": granted,
                             "granted_until": until}, today,
                            {"columns": granted, "until": until.isoformat()})

    def refuse(self, principal: Principal, request_id: str, reason: str, today: date
               ) -> dict[str, Any]:
        check("refusal_reasons", "reason", reason)
        return self._decide(principal, request_id, "refuse",
                            {"status": "refused", "refusal_reason": reason}, today,
                            {"reason": reason})

    def expire_grants(self, today: date) -> list[str]:
        """Approved requests past their last day become `expired` (recorded and audited).
        The API enforces the date itself; this makes the withdrawal visible."""
        t = sharing_requests
        with self.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(select(t.c.request_id).where(
                t.c.status == "approved", t.c.granted_until < today))]
        for request_id in ids:
            with self.engine.begin() as conn:
                conn.execute(update(t).where(t.c.request_id == request_id,
                                             t.c.status == "approved").values(status="expired"))
                self.steps.history(conn, KIND, request_id, "expired", None)
            self.steps.audit_step(KIND, request_id, "expire", None)
        return ids

    def grants(self, principal: Principal, today: date) -> dict[tuple[str, str], set[str]]:
        """(dataset, purpose) -> columns this principal's party may read today."""
        t = sharing_requests
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.dataset, t.c.purpose, t.c.granted_columns).where(
                t.c.requester_party == party(principal), t.c.status == "approved",
                t.c.granted_until >= today)).all()
        out: dict[tuple[str, str], set[str]] = {}
        for dataset, purpose, columns in rows:
            out.setdefault((dataset, purpose), set()).update(columns or [])
        return out
