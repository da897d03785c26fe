"""Cases and referrals (`/v1/referrals`): a street office opens a case for a resident of its
jurisdiction (or from a hint on the resident's card, in one step), assesses it in categories,
plans, refers it to departments or providers with a due date, records their responses and
closes it with an evaluation and the resident's satisfaction. A department sees only the
referrals addressed to it (`/v1/referrals/received`): resident key, service, due date.
Notes are the case's workers' alone; each read is audited under the resident."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from hub.api.casework_deps import CaseworkDep, Limit, Offset, StatusFilter, page, today
from hub.api.deps import CurrentPrincipal, ServicesDep
from hub.api.guard import ResidentGate
from hub.api.problems import not_found
from hub.api.responses import problems
from hub.casework.hints import open_from_hint
from hub.security.roles import Role

router = APIRouter(prefix="/v1/referrals", tags=["referrals"])

CaseId = Annotated[str, Path(pattern=r"^case-[0-9a-f]{16}$", examples=["case-0123456789abcdef"])]
ReferralId = Annotated[str, Path(pattern=r"^ref-[0-9a-f]{16}$")]
KEY = r"^[0-9a-f]{32}$"
CODE = r"^[a-z][a-z0-9_]{0,63}$"


class CaseOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resident_key: str = Field(pattern=KEY)
    purpose: str = Field(default="case_management", max_length=64)


class CaseFromHint(CaseOpen):
    kind: Literal["missed_benefit", "overlap"]
    rule: str = Field(pattern=CODE)


class Categories(BaseModel):
    model_config = ConfigDict(extra="forbid")
    categories: list[Annotated[str, Field(pattern=CODE)]] = Field(min_length=1, max_length=20)


class Refer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_kind: Literal["department", "provider"]
    to_code: str = Field(pattern=CODE)
    service: str = Field(pattern=CODE)


class Close(BaseModel):
    model_config = ConfigDict(extra="forbid")
    evaluation: str = Field(pattern=CODE)
    satisfaction: int = Field(ge=1, le=5)


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2000)


class Respond(BaseModel):
    model_config = ConfigDict(extra="forbid")
    response: str = Field(pattern=CODE)


def _resident(request: Request, services: Any, principal: Any, key: str, purpose: str,
              action: str) -> dict[str, Any]:
    """The resident's view as the caller may see it; refused (and audited) like a read."""
    gate = ResidentGate(request, services, principal, action)
    gate.admit(purpose)
    document = services.views.resident(key)
    street = ((document or {}).get("location") or {}).get("street_code")
    if document is None or not gate.in_scope(street):
        gate.refuse(not_found("resident"), "refused:forbidden" if document else "not_found",
                    key if document else None)
    return gate.visible(document or {})


@router.get("", summary="Cases of the caller's street office (all for admins and auditors); "
                        "referrals received for a department")
def list_cases(work: CaseworkDep, principal: CurrentPrincipal, status: StatusFilter = None,
               offset: Offset = 0, limit: Limit = 100) -> dict[str, Any]:
    if principal.role == Role.DEPARTMENT:
        return page(work.referrals.for_department(principal, today(), status), offset, limit)
    return page(work.cases.listing(principal, today(), status), offset, limit)


@router.post("", status_code=201, summary="Open a case for a resident (application)",
             responses=problems(400, 409))
def open_case(request: Request, services: ServicesDep, work: CaseworkDep,
              principal: CurrentPrincipal, body: Annotated[CaseOpen, Body()]) -> dict[str, Any]:
    document = _resident(request, services, principal, body.resident_key, body.purpose,
                         "case.open")
    street = str((document.get("location") or {}).get("street_code") or "")
    return work.cases.open(principal, body.resident_key, street, today())


@router.post("/from-hint", status_code=201, responses=problems(400),
             summary="Open, accept, assess and refer a case from a hint on the card")
def from_hint(request: Request, services: ServicesDep, work: CaseworkDep,
              principal: CurrentPrincipal, body: Annotated[CaseFromHint, Body()]
              ) -> dict[str, Any]:
    document = _resident(request, services, principal, body.resident_key, body.purpose,
                         "case.open")
    return open_from_hint(work.cases, principal, document, body.kind, body.rule, today())


@router.get("/received/{referral_id}", summary="A referral as its addressee sees it")
def received(work: CaseworkDep, principal: CurrentPrincipal,
             referral_id: ReferralId) -> dict[str, Any]:
    return work.referrals.get(principal, referral_id, today())


@router.post("/received/{referral_id}/respond", summary="The addressee's response",
             responses=problems(400, 409))
def respond(work: CaseworkDep, principal: CurrentPrincipal, referral_id: ReferralId,
            body: Annotated[Respond, Body()]) -> dict[str, Any]:
    return work.referrals.respond(principal, referral_id, body.response, today())


@router.get("/{case_id}", summary="One case with its referrals and history")
def get_case(work: CaseworkDep, principal: CurrentPrincipal, case_id: CaseId) -> dict[str, Any]:
    return work.cases.get(principal, case_id, today())


@router.post("/{case_id}/accept", summary="Accept the application", responses=problems(400, 409))
def accept(work: CaseworkDep, principal: CurrentPrincipal, case_id: CaseId) -> dict[str, Any]:
    return work.cases.accept(principal, case_id, today())


@router.post("/{case_id}/assess", summary="Assessment (categories)", responses=problems(400, 409))
def assess(work: CaseworkDep, principal: CurrentPrincipal, case_id: CaseId,
           body: Annotated[Categories, Body()]) -> dict[str, Any]:
    return work.cases.assess(principal, case_id, body.categories, today())


@router.post("/{case_id}/plan", summary="Plan (action categories)", responses=problems(400, 409))
def plan(work: CaseworkDep, principal: CurrentPrincipal, case_id: CaseId,
         body: Annotated[Categories, Body()]) -> dict[str, Any]:
    return work.cases.plan(principal, case_id, body.categories, today())


@router.post("/{case_id}/refer", summary="Refer to a department or provider",
             responses=problems(400, 409))
def refer(work: CaseworkDep, principal: CurrentPrincipal, case_id: CaseId,
          body: Annotated[Refer, Body()]) -> dict[str, Any]:
    return work.cases.refer(principal, case_id, body.to_kind, body.to_code, body.service,
                            today())


@router.post("/{case_id}/close", summary="Close with evaluation and satisfaction",
             responses=problems(400, 409))
def close(work: CaseworkDep, principal: CurrentPrincipal, case_id: CaseId,
          body: Annotated[Close, Body()]) -> dict[str, Any]:
    return work.cases.close(principal, case_id, body.evaluation, body.satisfaction, today())


@router.get("/{case_id}/notes", summary="Confidential notes (the case's workers; audited)")
def notes(work: CaseworkDep, principal: CurrentPrincipal, case_id: CaseId) -> dict[str, Any]:
    return {"items": work.cases.notes(principal, case_id, today())}


@router.post("/{case_id}/notes", status_code=201, summary="Add a confidential note",
             responses=problems(400))
def add_note(work: CaseworkDep, principal: CurrentPrincipal, case_id: CaseId,
             body: Annotated[Note, Body()]) -> dict[str, Any]:
    return work.cases.add_note(principal, case_id, body.text, today())
