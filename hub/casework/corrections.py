"""Correction requests: a doubtful value goes back to the department that owns it ("谁经手,
谁负责"), with a due date in working days, until a later batch no longer shows the problem.

    open -> acknowledged -> corrected (the correcting batch; verified when a loaded batch no
                                       longer shows the finding: hub.casework.verification)
         -> disputed (a reason category; escalated to the admin, who withdraws or reopens)
    overdue: the clock (hub.casework.clock) of an open or acknowledged request past its date.

A request names the dataset, column, rule and resident key; never a value.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update

from catalog.quality_store import quality_findings
from hub.casework.calendar import default_calendar
from hub.casework.clock import with_clock
from hub.casework.errors import ItemInvalid, ItemNotFound, NotYourStep, StepNotAllowed
from hub.casework.parties import ITEM_ROLES, oversees, owner_of, owns
from hub.casework.steps import Steps, actor_of, now, row_dict
from hub.casework.vocabulary import check
from hub.quality.findings_view import compared_column
from hub.security.roles import Principal, Role
from hub.settings import CaseworkSettings
from hub.state.casework_tables import correction_requests
from schemas.registry import all_contracts

KIND = "correction"
BATCH_ID = re.compile(r"[A-Za-z0-9_.:-]{1,96}")
REGISTRY = "grid"
CLOSED = ("corrected", "withdrawn")


def _new_id() -> str:
    return "cr-" + secrets.token_hex(8)


class Corrections:
    def __init__(self, steps: Steps, settings: CaseworkSettings) -> None:
        self.steps = steps
        self.engine = steps.engine
        self.settings = settings
        self.calendar = default_calendar()

    # -- creating ---------------------------------------------------------------------------

    def _due(self, origin: str, today: date) -> date:
        days = {"finding": self.settings.correction_days_finding,
                "quality": self.settings.correction_days_quality,
                "report": self.settings.correction_days_report}[origin]
        return self.calendar.add_working_days(today, days)

    def _create(self, principal: Principal | None, row: dict[str, Any], today: date
                ) -> dict[str, Any]:
        if principal is not None and principal.role not in ITEM_ROLES:
            raise NotYourStep(KIND, "create")
        request_id = _new_id()
        values = {"request_id": request_id, "status": "open", "created_by": actor_of(principal),
                  "created_at": now(), "due_date": self._due(row["origin"], today),
                  "department": owner_of(row["dataset"]), **row}
        with self.engine.begin() as conn:
            conn.execute(insert(correction_requests).values(**values))
            self.steps.history(conn, KIND, request_id, "opened", principal,
                               {"origin": row["origin"], "rule": row["rule"]})
        self.steps.audit_step(KIND, request_id, "open", principal, row.get("resident_key"),
                              detail={"dataset": row["dataset"], "rule": row["rule"]})
        return self._get(request_id, today)

    def from_finding(self, principal: Principal | None, finding_id: str, today: date,
                     dataset: str | None = None) -> dict[str, Any]:
        """A request to the owner of one of the finding's datasets (default: the one that is
        not the grid registry)."""
        with self.engine.connect() as conn:
            finding = conn.execute(select(quality_findings).where(
                quality_findings.c.finding_id == finding_id)).first()
        if finding is None or finding.status != "open":
            raise ItemNotFound("finding", finding_id)
        datasets = list(finding.datasets)
        if principal is not None and not oversees(principal) and not any(
                owns(principal, d) for d in datasets):
            raise ItemNotFound("finding", finding_id)
        target = dataset or next((d for d in datasets if d != REGISTRY), datasets[0])
        if target not in datasets:
            raise ItemInvalid("dataset", "not one of the finding's datasets")
        existing = self._open_for_finding(finding_id, target)
        if existing is not None:
            return self._get(existing, today)
        return self._create(principal, {
            "origin": "finding", "finding_id": finding_id, "dataset": target,
            "column_name": compared_column(finding.kind, target), "rule": finding.kind,
            "resident_key": finding.resident_key}, today)

    def from_quality(self, principal: Principal | None, dataset: str, batch_id: str,
                     column: str, rule: str, today: date) -> dict[str, Any]:
        self._check_column(dataset, column)
        return self._create(principal, {"origin": "quality", "dataset": dataset,
                                        "batch_id": batch_id, "column_name": column,
                                        "rule": rule[:128]}, today)

    def from_report(self, principal: Principal | None, dataset: str, column: str, rule: str,
                    resident_key: str | None, today: date) -> dict[str, Any]:
        self._check_column(dataset, column)
        return self._create(principal, {"origin": "report", "dataset": dataset,
                                        "column_name": column, "rule": rule[:128],
                                        "resident_key": resident_key}, today)

    @staticmethod
    def _check_column(dataset: str, column: str) -> None:
        owner_of(dataset)
        if column not in all_contracts()[dataset].column_names:
            raise ItemInvalid("column", f"not a column of {dataset}'s contract")

    def _open_for_finding(self, finding_id: str, dataset: str) -> str | None:
        t = correction_requests
        with self.engine.connect() as conn:
            found = conn.execute(select(t.c.request_id).where(
                t.c.finding_id == finding_id, t.c.dataset == dataset,
                t.c.status.not_in(CLOSED))).scalar()
        return str(found) if found else None

    # -- reading ----------------------------------------------------------------------------

    def _get(self, request_id: str, today: date) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(correction_requests).where(
                correction_requests.c.request_id == request_id)).first()
        if row is None:
            raise ItemNotFound(KIND, request_id)
        return with_clock(row_dict(row), today)

    def visible(self, principal: Principal, item: dict[str, Any]) -> bool:
        return (oversees(principal) or owns(principal, item["dataset"])
                or item["created_by"] == principal.actor)

    def get(self, principal: Principal, request_id: str, today: date) -> dict[str, Any]:
        item = self._get(request_id, today)
        if not self.visible(principal, item):
            raise ItemNotFound(KIND, request_id)
        return {**item, "history": self.steps.events(KIND, request_id)}

    def listing(self, principal: Principal, today: date, status: str | None = None,
             dataset: str | None = None) -> list[dict[str, Any]]:
        t = correction_requests
        query = select(t).order_by(t.c.due_date, t.c.request_id)
        if dataset:
            query = query.where(t.c.dataset == dataset)
        if principal.role == Role.DEPARTMENT:
            query = query.where(t.c.dataset.in_(list(principal.scope)))
        with self.engine.connect() as conn:
            items = [with_clock(row_dict(r), today) for r in conn.execute(query)]
        items = [i for i in items if self.visible(principal, i)]
        if status == "overdue":
            return [i for i in items if i["clock"]["overdue"]]
        return [i for i in items if status is None or i["status"] == status]

    # -- the department's steps ---------------------------------------------------------------

    def _step(self, principal: Principal, request_id: str, step: str, allowed: tuple[str, ...],
              values: dict[str, Any], today: date, detail: dict[str, Any] | None = None,
              admin_step: bool = False) -> dict[str, Any]:
        item = self._get(request_id, today)
        if not self.visible(principal, item):
            raise ItemNotFound(KIND, request_id)
        may = principal.role == Role.ADMIN if admin_step else owns(principal, item["dataset"])
        if not may:
            raise NotYourStep(KIND, step)
        t = correction_requests
        with self.engine.begin() as conn:
            changed = conn.execute(update(t).where(t.c.request_id == request_id,
                                                   t.c.status.in_(allowed)).values(**values))
            if changed.rowcount != 1:
                raise StepNotAllowed(KIND, request_id, step, item["status"])
            self.steps.history(conn, KIND, request_id, step, principal, detail)
        self.steps.audit_step(KIND, request_id, step, principal, item.get("resident_key"),
                              detail=detail)
        return self.get(principal, request_id, today)

    def acknowledge(self, principal: Principal, request_id: str, today: date
                    ) -> dict[str, Any]:
        return self._step(principal, request_id, "acknowledge", ("open",),
                          {"status": "acknowledged", "acknowledged_at": now()}, today)

    def correct(self, principal: Principal, request_id: str, batch_id: str | None,
                today: date) -> dict[str, Any]:
        """The department says it corrected the value at source (in `batch_id`, when it
        has sent it); verification follows from the next loaded batch."""
        if batch_id is not None and not BATCH_ID.fullmatch(batch_id):
            raise ItemInvalid("batch_id", "a batch id as `hub batches` shows it")
        return self._step(principal, request_id, "correct", ("open", "acknowledged"),
                          {"status": "corrected", "corrected_at": now(),
                           "corrected_batch": batch_id}, today, {"batch_id": batch_id})

    def dispute(self, principal: Principal, request_id: str, reason: str, today: date
                ) -> dict[str, Any]:
        check("dispute_reasons", "reason", reason)
        return self._step(principal, request_id, "dispute", ("open", "acknowledged"),
                          {"status": "disputed", "dispute_reason": reason,
                           "escalated_at": now()}, today, {"reason": reason})

    def withdraw(self, principal: Principal, request_id: str, today: date) -> dict[str, Any]:
        """Admin: the dispute is upheld, the request ends."""
        return self._step(principal, request_id, "withdraw", ("disputed", "open",
                                                              "acknowledged"),
                          {"status": "withdrawn", "closed_at": now()}, today, admin_step=True)

    def reopen(self, principal: Principal, request_id: str, today: date) -> dict[str, Any]:
        """Admin: the dispute is rejected; the department has a new due date."""
        due = self._due("report", today)
        return self._step(principal, request_id, "reopen", ("disputed",),
                          {"status": "acknowledged", "due_date": due, "escalated_at": None},
                          today, {"due_date": due.isoformat()}, admin_step=True)
