"""Sharing request pages: the list, the application form (a dataset's requestable columns as
checkboxes, purpose, legal basis, period) and one request with the owner's forms: approve
(untick columns to grant fewer, an earlier last day) or refuse with a reason."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from hub.casework.errors import ItemInvalid
from hub.casework.parties import source_datasets
from hub.casework.sharing import requestable_columns
from hub.casework.vocabulary import codes
from hub.security.purposes import PURPOSES
from hub.web.casework_pages import back, form_user, loop_page, refused, today, work_of
from hub.web.routes_auth import signed_in, to_login
from schemas.errors import DataHubError

router = APIRouter(prefix="/console/sharing", include_in_schema=False)


def _day(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ItemInvalid(field, "a date as YYYY-MM-DD") from None


@router.get("")
def sharing_page(request: Request,
                 dataset: Annotated[str, Query(pattern=r"^[a-z_]{0,64}$")] = "") -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    items = work_of(request).sharing.listing(who.user.principal, today())
    datasets = sorted(d for d in source_datasets() if d not in who.user.principal.scope)
    columns = requestable_columns(dataset) if dataset in datasets else []
    return loop_page("console/loop_sharing_list.html", who, items=items, datasets=datasets,
                     dataset=dataset if columns else "", columns=columns, purposes=PURPOSES,
                     bases=codes("legal_bases"), start=today(),
                     end=today() + timedelta(days=180),
                     may_apply=who.user.role.value in ("department", "street_office"))


@router.post("")
def apply(request: Request, csrf: Annotated[str, Form(max_length=100)] = "",
          dataset: Annotated[str, Form(max_length=64)] = "",
          columns: Annotated[list[str] | None, Form(max_length=64)] = None,
          purpose: Annotated[str, Form(max_length=64)] = "",
          legal_basis: Annotated[str, Form(max_length=32)] = "",
          legal_reference: Annotated[str, Form(max_length=120)] = "",
          period_start: Annotated[str, Form(max_length=10)] = "",
          period_end: Annotated[str, Form(max_length=10)] = "") -> Response:
    who = form_user(request, csrf)
    if isinstance(who, Response):
        return who
    try:
        start = _day(period_start, "period_start") or today()
        end = _day(period_end, "period_end") or start
        made = work_of(request).sharing.apply(
            who.user.principal, dataset, [c[:64] for c in columns or []][:64], purpose,
            legal_basis, legal_reference, start, end, today())
    except DataHubError as exc:
        return refused(who, exc)
    return back(f"/console/sharing/{made['request_id']}")


@router.get("/{request_id}")
def request_page(request: Request, request_id: str) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    try:
        item = work_of(request).sharing.get(who.user.principal, request_id, today())
    except DataHubError as exc:
        return refused(who, exc)
    owner = who.user.role.value == "department" and item["dataset"] in who.user.scope
    return loop_page("console/loop_sharing.html", who, s=item, owner=owner,
                     reasons=codes("refusal_reasons"))


@router.post("/{request_id}/approve")
def approve(request: Request, request_id: str, csrf: Annotated[str, Form(max_length=100)] = "",
            columns: Annotated[list[str] | None, Form(max_length=64)] = None,
            until: Annotated[str, Form(max_length=10)] = "") -> Response:
    who = form_user(request, csrf)
    if isinstance(who, Response):
        return who
    try:
        if not columns:
            raise ItemInvalid("columns", "tick at least one column to grant")
        work_of(request).sharing.approve(who.user.principal, request_id,
                                         [c[:64] for c in columns][:64],
                                         _day(until, "until"), today())
    except DataHubError as exc:
        return refused(who, exc)
    return back(f"/console/sharing/{request_id}")


@router.post("/{request_id}/refuse")
def refuse(request: Request, request_id: str, csrf: Annotated[str, Form(max_length=100)] = "",
           reason: Annotated[str, Form(max_length=32)] = "") -> Response:
    who = form_user(request, csrf)
    if isinstance(who, Response):
        return who
    try:
        work_of(request).sharing.refuse(who.user.principal, request_id, reason, today())
    except DataHubError as exc:
        return refused(who, exc)
    return back(f"/console/sharing/{request_id}")
