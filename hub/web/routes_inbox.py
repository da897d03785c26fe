"""The inbox page: everything that waits for the signed-in user, soonest due first, overdue
marked; overdue items are escalated to the admin on the way (as GET /v1/inbox)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hub.casework.inbox import escalate_overdue, inbox
from hub.web.casework_pages import loop_page, today, work_of
from hub.web.routes_auth import signed_in, to_login

router = APIRouter(prefix="/console", include_in_schema=False)
LINKS = {"correction": "/console/corrections/", "sharing": "/console/sharing/",
         "case": "/console/cases/", "referral": "/console/referrals/"}


@router.get("/inbox")
def inbox_page(request: Request) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    work = work_of(request)
    escalate_overdue(work, today())
    items = inbox(work, who.user.principal, today())
    return loop_page("console/loop_inbox.html", who, items=items, links=LINKS)
