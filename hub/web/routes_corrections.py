"""Correction request pages: the list, one request with its history and the department's
forms (acknowledge, corrected in a batch, dispute with a reason) and the admin's (withdraw,
reopen a disputed request)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from hub.casework.vocabulary import codes
from hub.quality.correction_counts import correction_counts
from hub.web.casework_pages import back, form_user, loop_page, refused, today, work_of
from hub.web.routes_auth import signed_in, to_login
from schemas.errors import DataHubError

router = APIRouter(prefix="/console/corrections", include_in_schema=False)
ID = r"^cr-[0-9a-f]{16}$"
STEPS = ("acknowledge", "correct", "dispute", "withdraw", "reopen")


@router.get("")
def corrections_page(request: Request,
                     status: Annotated[str, Query(pattern=r"^[a-z_]{0,16}$")] = ""
                     ) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    items = work_of(request).corrections.listing(who.user.principal, today(), status or None)
    oversees = who.user.role.value in ("admin", "auditor")
    summary = correction_counts(work_of(request).steps.engine, today()) if oversees else []
    return loop_page("console/loop_corrections.html", who, items=items, chosen=status,
                     summary=summary)


@router.get("/{request_id}")
def correction_page(request: Request, request_id: str) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    try:
        item = work_of(request).corrections.get(who.user.principal, request_id, today())
    except DataHubError as exc:
        return refused(who, exc)
    return loop_page("console/loop_correction.html", who, c=item,
                     reasons=codes("dispute_reasons"))


@router.post("/{request_id}/{step}")
def correction_step(request: Request, request_id: str, step: str,
                    csrf: Annotated[str, Form(max_length=100)] = "",
                    batch_id: Annotated[str, Form(max_length=96)] = "",
                    reason: Annotated[str, Form(max_length=32)] = "") -> Response:
    who = form_user(request, csrf)
    if isinstance(who, Response):
        return who
    store = work_of(request).corrections
    principal = who.user.principal
    try:
        if step == "acknowledge":
            store.acknowledge(principal, request_id, today())
        elif step == "correct":
            store.correct(principal, request_id, batch_id.strip() or None, today())
        elif step == "dispute":
            store.dispute(principal, request_id, reason, today())
        elif step == "withdraw":
            store.withdraw(principal, request_id, today())
        elif step == "reopen":
            store.reopen(principal, request_id, today())
        else:
            return loop_page("console/loop_error.html", who, http_status=404,
                             problem="not-found")
    except DataHubError as exc:
        return refused(who, exc)
    return back(f"/console/corrections/{request_id}")
