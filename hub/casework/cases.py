"""Cases of a street office (community case management in six steps): application and
acceptance, assessment, plan, referrals to departments or providers with due dates and their
responses, closure with an evaluation and the resident's satisfaction.

What a case records is category codes (vocabulary.yaml); free text goes only into notes, which
the case's workers alone read (each read audited under the resident's key, so the resident's
access report shows who looked). A department sees the referrals addressed to it and nothing
else of the case: the resident key, the service asked for, the due date
(hub.casework.referrals).
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update

from hub.casework.calendar import default_calendar
from hub.casework.clock import with_clock
from hub.casework.errors import ItemInvalid, ItemNotFound, NotYourStep, StepNotAllowed
from hub.casework.parties import party
from hub.casework.steps import Steps, actor_of, now, row_dict
from hub.casework.vocabulary import check, check_all
from hub.security.roles import Principal, Role
from hub.settings import CaseworkSettings
from hub.state.casework_tables import case_notes, case_referrals, cases

KIND = "case"
NOTE_MAX = 2000
# A run of digits as long as an ID number (15 or 18, the last maybe X) or a mobile number: a
# note names the resident by the case, never by these.
IDENTIFIER_IN_NOTE = re.compile(r"(?<!\d)(?:\d{17}[\dXx]|\d{15}|1[3-9]\d{9})(?!\d)")
PURPOSE = "case_management"
# step -> the statuses it may follow
FLOW = {"accept": ("open",), "assess": ("accepted", "assessed"),
        "plan": ("assessed", "planned"), "refer": ("assessed", "planned", "referred"),
        "close": ("accepted", "assessed", "planned", "referred")}


class Cases:
    def __init__(self, steps: Steps, settings: CaseworkSettings) -> None:
        self.steps = steps
        self.engine = steps.engine
        self.settings = settings
        self.calendar = default_calendar()

    def _due(self, today: date) -> date:
        return self.calendar.add_working_days(today, self.settings.referral_days)

    # -- opening ------------------------------------------------------------------------------

    def open(self, principal: Principal, resident_key: str, street_code: str, today: date,
             origin: str = "application", hint_rule: str | None = None,
             assessment: list[str] | None = None) -> dict[str, Any]:
        """Open a case for a resident the caller may read (the API checked jurisdiction)."""
        if principal.role != Role.STREET_OFFICE:
            raise NotYourStep(KIND, "open")
        check("origins", "origin", origin)
        case_id = "case-" + secrets.token_hex(8)
        with self.engine.begin() as conn:
            conn.execute(insert(cases).values(
                case_id=case_id, resident_key=resident_key, street_code=street_code,
                origin=origin, hint_rule=hint_rule, status="open",
                assessment=sorted(assessment or []), plan=[], opened_by=actor_of(principal),
                workers_party=party(principal), created_at=now(), due_date=self._due(today)))
            self.steps.history(conn, KIND, case_id, "opened", principal,
                               {"origin": origin, "rule": hint_rule})
        self.steps.audit_step(KIND, case_id, "open", principal, resident_key, PURPOSE,
                              {"origin": origin, "rule": hint_rule})
        return self.get(principal, case_id, today)

    # -- reading ------------------------------------------------------------------------------

    def _row(self, case_id: str, today: date) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(cases).where(cases.c.case_id == case_id)).first()
        if row is None:
            raise ItemNotFound(KIND, case_id)
        return with_clock(row_dict(row), today)

    @staticmethod
    def is_worker(principal: Principal, item: dict[str, Any]) -> bool:
        return principal.role == Role.STREET_OFFICE and item["workers_party"] == party(
            principal)

    def referrals_of(self, case_id: str, today: date) -> list[dict[str, Any]]:
        t = case_referrals
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.case_id == case_id)
                                .order_by(t.c.created_at)).all()
        return [with_clock(row_dict(r), today) for r in rows]

    def get(self, principal: Principal, case_id: str, today: date) -> dict[str, Any]:
        """The whole case for its workers, admins and auditors (notes apart: `notes`)."""
        item = self._row(case_id, today)
        if not (self.is_worker(principal, item) or principal.role in (Role.ADMIN,
                                                                         Role.AUDITOR)):
            raise ItemNotFound(KIND, case_id)
        return {**item, "referrals": self.referrals_of(case_id, today),
                "history": self.steps.events(KIND, case_id)}

    def listing(self, principal: Principal, today: date, status: str | None = None
             ) -> list[dict[str, Any]]:
        t = cases
        query = select(t).order_by(t.c.created_at.desc())
        if principal.role == Role.STREET_OFFICE:
            query = query.where(t.c.workers_party == party(principal))
        elif principal.role not in (Role.ADMIN, Role.AUDITOR):
            return []
        with self.engine.connect() as conn:
            items = [with_clock(row_dict(r), today) for r in conn.execute(query)]
        if status == "overdue":
            return [i for i in items if i["clock"]["overdue"]]
        return [i for i in items if status is None or i["status"] == status]

    # -- the workers' steps -------------------------------------------------------------------

    def _step(self, principal: Principal, case_id: str, step: str, values: dict[str, Any],
              today: date, detail: dict[str, Any] | None = None) -> dict[str, Any]:
        item = self._row(case_id, today)
        if not self.is_worker(principal, item):
            if principal.role in (Role.ADMIN, Role.AUDITOR):
                raise NotYourStep(KIND, step)
            raise ItemNotFound(KIND, case_id)
        # Each step starts the clock of the next one: a case is late when a step is, not
        # when it has been open long.
        values = {"due_date": self._due(today), "escalated_at": None, **values}
        with self.engine.begin() as conn:
            changed = conn.execute(update(cases).where(
                cases.c.case_id == case_id, cases.c.status.in_(FLOW[step])).values(**values))
            if changed.rowcount != 1:
                raise StepNotAllowed(KIND, case_id, step, item["status"])
            self.steps.history(conn, KIND, case_id, step, principal, detail)
        self.steps.audit_step(KIND, case_id, step, principal, item["resident_key"], PURPOSE,
                              detail)
        return self.get(principal, case_id, today)

    def accept(self, principal: Principal, case_id: str, today: date) -> dict[str, Any]:
        return self._step(principal, case_id, "accept",
                          {"status": "accepted", "accepted_at": now()}, today)

    def assess(self, principal: Principal, case_id: str, categories: list[str], today: date
               ) -> dict[str, Any]:
        chosen = check_all("assessment", "assessment", categories)
        return self._step(principal, case_id, "assess",
                          {"status": "assessed", "assessment": chosen}, today,
                          {"assessment": chosen})

    def plan(self, principal: Principal, case_id: str, actions: list[str], today: date
             ) -> dict[str, Any]:
        chosen = check_all("plan_actions", "plan", actions)
        due = self._due(today).isoformat()
        plan = [{"action": a, "due_date": due} for a in chosen]
        return self._step(principal, case_id, "plan", {"status": "planned", "plan": plan},
                          today, {"plan": chosen})

    def refer(self, principal: Principal, case_id: str, to_kind: str, to_code: str,
              service: str, today: date) -> dict[str, Any]:
        from hub.casework.parties import source_datasets

        if to_kind == "department":
            if to_code not in set(source_datasets().values()):
                raise ItemInvalid("to_code", "not a department of the catalog")
        elif to_kind == "provider":
            check("providers", "to_code", to_code)
        else:
            raise ItemInvalid("to_kind", "department or provider")
        check("services", "service", service)
        referral_id = "ref-" + secrets.token_hex(8)
        item = self._row(case_id, today)
        due = self._due(today)
        detail = {"referral_id": referral_id, "to_kind": to_kind, "to_code": to_code,
                  "service": service, "due_date": due.isoformat()}
        result = self._step(principal, case_id, "refer", {"status": "referred"}, today,
                            detail)
        with self.engine.begin() as conn:
            conn.execute(insert(case_referrals).values(
                referral_id=referral_id, case_id=case_id, resident_key=item["resident_key"],
                to_kind=to_kind, to_code=to_code, service=service, status="sent",
                created_by=actor_of(principal), created_at=now(), due_date=due))
        return {**result, "referrals": self.referrals_of(case_id, today)}

    def close(self, principal: Principal, case_id: str, evaluation: str, satisfaction: int,
              today: date) -> dict[str, Any]:
        check("evaluations", "evaluation", evaluation)
        if not 1 <= satisfaction <= 5:
            raise ItemInvalid("satisfaction", "1 (very unsatisfied) to 5 (very satisfied)")
        return self._step(principal, case_id, "close",
                          {"status": "closed", "evaluation": evaluation,
                           "satisfaction": satisfaction, "closed_at": now()}, today,
                          {"evaluation": evaluation, "satisfaction": satisfaction})

    # -- confidential notes --------------------------------------------------------------------

    def add_note(self, principal: Principal, case_id: str, text: str, today: date
                 ) -> dict[str, Any]:
        item = self._row(case_id, today)
        if not self.is_worker(principal, item):
            raise ItemNotFound(KIND, case_id)
        text = text.strip()
        if not 1 <= len(text) <= NOTE_MAX:
            raise ItemInvalid("text", f"1 to {NOTE_MAX} characters")
        if IDENTIFIER_IN_NOTE.search(text.replace(" ", "").replace("-", "")):
            raise ItemInvalid("text", "no ID number or phone number (the case names the "
                                      "resident)")
        note_id = "note-" + secrets.token_hex(8)
        with self.engine.begin() as conn:
            conn.execute(insert(case_notes).values(note_id=note_id, case_id=case_id,
                                                   author=actor_of(principal), text=text,
                                                   created_at=now()))
            self.steps.history(conn, KIND, case_id, "note", principal, {"note_id": note_id})
        self.steps.audit_step(KIND, case_id, "note.add", principal, item["resident_key"],
                              PURPOSE)
        return {"note_id": note_id}

    def notes(self, principal: Principal, case_id: str, today: date) -> list[dict[str, Any]]:
        """The case's notes, for its workers only; the read is audited under the resident."""
        item = self._row(case_id, today)
        if not self.is_worker(principal, item):
            raise ItemNotFound(KIND, case_id)
        self.steps.audit_step(KIND, case_id, "notes.read", principal, item["resident_key"],
                              PURPOSE)
        with self.engine.connect() as conn:
            rows = conn.execute(select(case_notes).where(case_notes.c.case_id == case_id)
                                .order_by(case_notes.c.created_at)).all()
        return [row_dict(r) for r in rows]
