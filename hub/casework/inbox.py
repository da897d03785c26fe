"""Each person's inbox: what waits for them, soonest due first; and escalation to the admin.

- a department: correction requests to its datasets, sharing requests to answer, referrals;
- a street office: its open cases and the sharing requests it applied for;
- an admin: every overdue item (escalated) and every disputed correction;
- an auditor: the escalated items, to read.

`escalate_overdue` marks each item that passed its due date (once), records it and audits it;
it also withdraws expired grants. `hub digest send` and every inbox read run it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Table, select, update

from hub.casework.clock import RUNNING, with_clock
from hub.casework.parties import party
from hub.casework.service import Casework
from hub.casework.steps import now, row_dict
from hub.security.roles import Principal, Role
from hub.state.casework_tables import (
    case_referrals,
    cases,
    correction_requests,
    sharing_requests,
)

# kind -> (table, id column)
ESCALATED: dict[str, tuple[Table, str]] = {
    "correction": (correction_requests, "request_id"),
    "sharing": (sharing_requests, "request_id"),
    "referral": (case_referrals, "referral_id"),
    "case": (cases, "case_id"),
}


def _entry(kind: str, item: dict[str, Any], id_field: str, subject: str) -> dict[str, Any]:
    return {"kind": kind, "id": item[id_field], "status": item["status"],
            "subject": subject, "due_date": item["clock"]["due_date"],
            "overdue": item["clock"]["overdue"],
            "working_days_left": item["clock"]["working_days_left"],
            "escalated": bool(item.get("escalated_at"))}


def inbox(work: Casework, principal: Principal, today: date) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    admin_like = principal.role in (Role.ADMIN, Role.AUDITOR)
    for c in work.corrections.listing(principal, today):
        waiting = c["status"] in RUNNING and (principal.role == Role.DEPARTMENT or
                                             (admin_like and c.get("escalated_at")))
        if waiting or (admin_like and c["status"] == "disputed"):
            out.append(_entry("correction", c, "request_id", f"{c['dataset']}·{c['rule']}"))
    for s in work.sharing.listing(principal, today):
        answer = principal.role == Role.DEPARTMENT and s["dataset"] in principal.scope
        mine = s["requester_party"] == party(principal)
        if s["status"] == "pending" and (answer or mine or (admin_like and s["escalated_at"])):
            out.append(_entry("sharing", s, "request_id", s["dataset"]))
    if principal.role == Role.DEPARTMENT:
        for r in work.referrals.for_department(principal, today, "sent"):
            out.append(_entry("referral", r, "referral_id", r["service"]))
    for k in work.cases.listing(principal, today):
        if k["status"] in RUNNING and (principal.role == Role.STREET_OFFICE
                                       or k.get("escalated_at")):
            out.append(_entry("case", k, "case_id", k["origin"]))
    if admin_like:
        t = case_referrals
        with work.steps.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.status == "sent",
                                                t.c.escalated_at.is_not(None))).all()
        for row in rows:
            item = with_clock(row_dict(row), today)
            out.append(_entry("referral", item, "referral_id", item["service"]))
    return sorted(out, key=lambda e: (not e["overdue"], e["due_date"], e["id"]))


def escalate_overdue(work: Casework, today: date) -> dict[str, int]:
    """Mark every running item past its due date as escalated to the admin (once each)."""
    counts: dict[str, int] = {}
    engine = work.steps.engine
    for kind, (table, id_field) in ESCALATED.items():
        id_col = table.c[id_field]
        with engine.connect() as conn:
            resident = table.c.resident_key if "resident_key" in table.c else id_col
            due = conn.execute(select(id_col, resident).where(
                table.c.status.in_(sorted(RUNNING)), table.c.due_date < today,
                table.c.escalated_at.is_(None))).all()
        for item_id, resident in due:
            with engine.begin() as conn:
                conn.execute(update(table).where(id_col == item_id).values(escalated_at=now()))
                work.steps.history(conn, kind, item_id, "escalated", None)
            work.steps.audit_step(kind, item_id, "escalate", None,
                                  resident if resident != item_id else None)
        counts[kind] = len(due)
    counts["expired_grants"] = len(work.sharing.expire_grants(today))
    return counts
