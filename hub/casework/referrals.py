"""A referral as the department it is addressed to sees it: the minimum it needs to act.

Resident key, service asked for, due date, status and its own response; not the street
office's assessment, plan or notes. Identifiers only through the audited reveal path of the
API (POST /v1/residents/{key}/reveal), never here. Responses from a provider (who has no
account) are recorded by the case's workers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, update

from hub.casework.cases import PURPOSE, Cases
from hub.casework.clock import with_clock
from hub.casework.errors import ItemNotFound, NotYourStep, StepNotAllowed
from hub.casework.parties import departments_of
from hub.casework.steps import now, row_dict
from hub.casework.vocabulary import check
from hub.security.roles import Principal
from hub.state.casework_tables import case_referrals

KIND = "referral"
SHOWN = ("referral_id", "case_id", "resident_key", "to_kind", "to_code", "service",
         "status", "response", "responded_at", "created_at", "due_date")


def minimal(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in (*SHOWN, "clock") if k in item}


class Referrals:
    def __init__(self, cases: Cases) -> None:
        self.cases = cases
        self.engine = cases.engine
        self.steps = cases.steps

    def _row(self, referral_id: str, today: date) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(case_referrals).where(
                case_referrals.c.referral_id == referral_id)).first()
        if row is None:
            raise ItemNotFound(KIND, referral_id)
        return with_clock(row_dict(row), today)

    def addressed(self, principal: Principal, item: dict[str, Any]) -> bool:
        return item["to_kind"] == "department" and item["to_code"] in departments_of(principal)

    def for_department(self, principal: Principal, today: date, status: str | None = None
                       ) -> list[dict[str, Any]]:
        mine = sorted(departments_of(principal))
        if not mine:
            return []
        t = case_referrals
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.to_kind == "department",
                                                t.c.to_code.in_(mine))
                                .order_by(t.c.due_date)).all()
        items = [minimal(with_clock(row_dict(r), today)) for r in rows]
        if status == "overdue":
            return [i for i in items if i["clock"]["overdue"]]
        return [i for i in items if status is None or i["status"] == status]

    def get(self, principal: Principal, referral_id: str, today: date) -> dict[str, Any]:
        item = self._row(referral_id, today)
        if self.addressed(principal, item):
            return minimal(item)
        case = self.cases._row(item["case_id"], today)
        if self.cases.is_worker(principal, case) or principal.role.value in ("admin",
                                                                             "auditor"):
            return item
        raise ItemNotFound(KIND, referral_id)

    def respond(self, principal: Principal, referral_id: str, response: str, today: date
                ) -> dict[str, Any]:
        """The addressed department answers; for a provider, the case's workers record it."""
        check("responses", "response", response)
        item = self._row(referral_id, today)
        case = self.cases._row(item["case_id"], today)
        by_worker = item["to_kind"] == "provider" and self.cases.is_worker(principal, case)
        if not (self.addressed(principal, item) or by_worker):
            if self.cases.is_worker(principal, case):
                raise NotYourStep(KIND, "respond")
            raise ItemNotFound(KIND, referral_id)
        status = "declined" if response == "not_eligible" else "done"
        t = case_referrals
        with self.engine.begin() as conn:
            changed = conn.execute(update(t).where(t.c.referral_id == referral_id,
                                                   t.c.status == "sent").values(
                status=status, response=response, responded_by=principal.actor,
                responded_at=now()))
            if changed.rowcount != 1:
                raise StepNotAllowed(KIND, referral_id, "respond", item["status"])
            self.steps.history(conn, "case", item["case_id"], "response", principal,
                               {"referral_id": referral_id, "response": response})
        self.steps.audit_step(KIND, referral_id, "respond", principal, item["resident_key"],
                              PURPOSE, {"response": response, "case_id": item["case_id"]})
        return self.get(principal, referral_id, today)
