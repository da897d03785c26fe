"""Street-office pages: find a resident by ID number, the resident card, the household card.

Each page calls the API's own route function (hub.api.routers.residents / households) with the
signed-in user as the principal: the same role, purpose and jurisdiction checks and the same
audit record as the API call it stands for. A refusal comes back as the API's problem and is
shown as a page; out of jurisdiction and unknown read exactly the same.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from hub.api.guard import ResidentGate
from hub.api.places import place_names
from hub.api.problems import ApiProblem
from hub.api.routers import households, residents
from hub.security.purposes import PURPOSES
from hub.web.render import page
from hub.web.routes_auth import SignedIn, csrf_ok, signed_in, to_login
from hub.web.state import console_state

router = APIRouter(prefix="/console", include_in_schema=False)
KEY = re.compile(r"[0-9a-f]{32}")


def problem_page(who: SignedIn, problem: ApiProblem) -> Response:
    return page("console/error.html", locale=who.user.locale, status=problem.status, who=who,
                problem=problem.slug)


def malformed(request: Request, who: SignedIn, action: str, field: str) -> Response:
    """A key that cannot be one: refused and recorded as the API records a 422."""
    gate = ResidentGate(request, console_state(request).services, who.user.principal, action)
    gate.record("refused:invalid_request", detail=f"fields: {field}")
    return problem_page(who, ApiProblem(404, "not-found", "", ""))


def search_page(who: SignedIn, purpose: str = "", status: int = 200) -> Response:
    return page("console/search.html", locale=who.user.locale, status=status, who=who,
                purposes=PURPOSES, purpose=purpose)


@router.get("/search")
def search_form(request: Request) -> Response:
    who = signed_in(request)
    return to_login() if who is None else search_page(who)


def resident_card(request: Request, who: SignedIn, document: dict[str, Any],
                  purpose: str) -> Response:
    if "profile" not in document:  # a department's granted columns (hub.casework.grants)
        return problem_page(who, ApiProblem(403, "forbidden", "", ""))
    return page("console/resident.html", locale=who.user.locale, who=who, r=document,
                purpose=purpose, places=place_names(console_state(request).services.settings))


@router.post("/search")
def search(request: Request, id_number: Annotated[str, Form(max_length=200)] = "",
           purpose: Annotated[str, Form(max_length=64)] = "",
           csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    if not csrf_ok(request, who, csrf):
        return problem_page(who, ApiProblem(400, "bad-form", "", ""))
    services = console_state(request).services
    try:
        body = residents.ResidentSearch(id_number=id_number.strip(), purpose=purpose or None)
    except ValidationError:
        gate = ResidentGate(request, services, who.user.principal, "resident.search")
        gate.record("refused:invalid_request", detail="fields: id_number")
        return problem_page(who, ApiProblem(422, "id-missing", "", ""))
    try:
        answer = residents.search_resident(request, services, who.user.principal, body)
    except ApiProblem as problem:
        return problem_page(who, problem)
    return resident_card(request, who, json.loads(bytes(answer.body)), body.purpose or "")


@router.get("/residents/{resident_key}")
def resident(request: Request, resident_key: str,
             purpose: Annotated[str, Query(max_length=64)] = "") -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    services = console_state(request).services
    if not KEY.fullmatch(resident_key):
        return malformed(request, who, "resident.read", "path.resident_key")
    try:
        answer = residents.get_resident(request, services, who.user.principal, resident_key,
                                        purpose or None)
    except ApiProblem as problem:
        return problem_page(who, problem)
    return resident_card(request, who, json.loads(bytes(answer.body)), purpose)


def _member_rows(request: Request, who: SignedIn, document: dict[str, Any]
                 ) -> list[dict[str, Any]]:
    """Each member with own totals and flags, from the members' published views (the same
    visibility rules; a member outside the jurisdiction shows the household's fields only)."""
    services = console_state(request).services
    gate = ResidentGate(request, services, who.user.principal, "household.read")
    rows = []
    for member in document.get("members", []):
        view = services.views.resident(str(member.get("resident_key")))
        street = ((view or {}).get("location") or {}).get("street_code")
        shown = gate.visible(view) if view and gate.in_scope(street) else {}
        cash = sum(float(t.get("amount") or 0) for t in
                   (shown.get("totals") or {}).get("by_kind", []) if t.get("kind") == "cash")
        rows.append({**member, "special_groups": shown.get("special_groups", []),
                     "overlaps": len(shown.get("overlaps") or []),
                     "missed": len(shown.get("missed_benefits") or []),
                     "cash": cash, "by_kind": (shown.get("totals") or {}).get("by_kind", [])})
    return rows


@router.get("/households/{household_key}")
def household(request: Request, household_key: str,
              purpose: Annotated[str, Query(max_length=64)] = "") -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    services = console_state(request).services
    if not KEY.fullmatch(household_key):
        return malformed(request, who, "household.read", "path.household_key")
    try:
        document = households.get_household(request, services, who.user.principal,
                                             household_key, purpose or None)
    except ApiProblem as problem:
        return problem_page(who, problem)
    return page("console/household.html", locale=who.user.locale, who=who, h=document,
                members=_member_rows(request, who, document), purpose=purpose,
                places=place_names(services.settings))
