"""Case pages of a street office: the list, a case with its six steps as forms (accept,
assess, plan, refer, record a provider's response, close; confidential notes), a case opened
in one step from a hint on the resident card; and a received referral as its department sees
it (resident key, service, due date) with the response form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from hub.api.guard import ResidentGate
from hub.api.problems import not_found
from hub.casework.hints import open_from_hint
from hub.casework.parties import source_datasets
from hub.casework.vocabulary import codes
from hub.web.casework_pages import back, form_user, loop_page, refused, today, work_of
from hub.web.routes_auth import signed_in, to_login
from hub.web.state import console_state
from schemas.errors import DataHubError

router = APIRouter(prefix="/console", include_in_schema=False)
Text = Annotated[str, Form(max_length=64)]
Csrf = Annotated[str, Form(max_length=100)]
Many = Annotated[list[str] | None, Form(max_length=20)]


@router.get("/cases")
def cases_page(request: Request) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    work = work_of(request)
    principal = who.user.principal
    items = work.cases.listing(principal, today())
    received = work.referrals.for_department(principal, today())
    return loop_page("console/loop_cases.html", who, items=items, received=received)


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    work = work_of(request)
    try:
        case = work.cases.get(who.user.principal, case_id, today())
        worker = work.cases.is_worker(who.user.principal, case)
        notes = work.cases.notes(who.user.principal, case_id, today()) if worker else []
    except DataHubError as exc:
        return refused(who, exc)
    return loop_page("console/loop_case.html", who, c=case, worker=worker, notes=notes,
                     assessment=codes("assessment"), actions=codes("plan_actions"),
                     departments=sorted(set(source_datasets().values())),
                     providers=codes("providers"), services=codes("services"),
                     responses=codes("responses"), evaluations=codes("evaluations"))


@router.post("/cases/from-hint")
def case_from_hint(request: Request, csrf: Csrf = "", resident_key: Text = "",
                   kind: Text = "", rule: Text = "") -> Response:
    who = form_user(request, csrf)
    if isinstance(who, Response):
        return who
    services = console_state(request).services
    gate = ResidentGate(request, services, who.user.principal, "case.open")
    try:
        gate.admit("case_management")
        document = services.views.resident(resident_key) if len(resident_key) == 32 else None
        street = ((document or {}).get("location") or {}).get("street_code")
        if document is None or not gate.in_scope(street):
            gate.refuse(not_found("resident"), "refused:forbidden" if document else
                        "not_found", resident_key if document else None)
        case = open_from_hint(work_of(request).cases, who.user.principal,
                              gate.visible(document or {}), kind, rule, today())
    except DataHubError as exc:
        return refused(who, exc)
    return back(f"/console/cases/{case['case_id']}")


@router.post("/cases/{case_id}/{step}")
def case_step(request: Request, case_id: str, step: str, csrf: Csrf = "",
              categories: Many = None, to: Text = "", service: Text = "",
              evaluation: Text = "", satisfaction: Text = "", referral_id: Text = "",
              response: Text = "",
              text: Annotated[str, Form(max_length=2000)] = "") -> Response:
    who = form_user(request, csrf)
    if isinstance(who, Response):
        return who
    cases = work_of(request).cases
    p, day = who.user.principal, today()
    try:
        if step == "accept":
            cases.accept(p, case_id, day)
        elif step == "assess":
            cases.assess(p, case_id, categories or [], day)
        elif step == "plan":
            cases.plan(p, case_id, categories or [], day)
        elif step == "refer":
            kind, _, code = to.partition(":")
            cases.refer(p, case_id, kind, code, service, day)
        elif step == "respond":
            work_of(request).referrals.respond(p, referral_id, response, day)
        elif step == "close":
            score = int(satisfaction) if satisfaction.isdigit() else 0
            cases.close(p, case_id, evaluation, score, day)
        elif step == "note":
            cases.add_note(p, case_id, text, day)
        else:
            return loop_page("console/loop_error.html", who, http_status=404,
                             problem="not-found")
    except DataHubError as exc:
        return refused(who, exc)
    return back(f"/console/cases/{case_id}")


@router.get("/referrals/{referral_id}")
def referral_page(request: Request, referral_id: str) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    try:
        item = work_of(request).referrals.get(who.user.principal, referral_id, today())
    except DataHubError as exc:
        return refused(who, exc)
    return loop_page("console/loop_referral.html", who, r=item, responses=codes("responses"))


@router.post("/referrals/{referral_id}/respond")
def referral_respond(request: Request, referral_id: str, csrf: Csrf = "",
                     response: Text = "") -> Response:
    who = form_user(request, csrf)
    if isinstance(who, Response):
        return who
    try:
        work_of(request).referrals.respond(who.user.principal, referral_id, response, today())
    except DataHubError as exc:
        return refused(who, exc)
    return back(f"/console/referrals/{referral_id}")
