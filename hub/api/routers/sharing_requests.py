"""Conditional-sharing requests (`/v1/sharing-requests`): a department or street office asks
another department for `conditional` columns with purpose, legal basis and period; the owner
approves (possibly fewer columns, a shorter period) or refuses with a reason. An approval is a
grant: the requester's party then reads exactly those columns of residents
(`GET /v1/residents/{key}?purpose=` with the request's purpose) until it expires."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ConfigDict, Field

from hub.api.casework_deps import CaseworkDep, Limit, Offset, StatusFilter, page, today
from hub.api.deps import CurrentPrincipal
from hub.api.responses import problems

router = APIRouter(prefix="/v1/sharing-requests", tags=["sharing requests"])

RequestId = Annotated[str, Path(pattern=r"^sr-[0-9a-f]{16}$", examples=["sr-0123456789abcdef"])]
COLUMN = r"^[a-z][a-z0-9_]{0,63}$"


class SharingApply(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"dataset": "elderly_care", "columns": ["care_level", "living_alone"],
         "purpose": "assistance_review", "legal_basis": "regulation",
         "legal_reference": "社会救助暂行办法 第十条", "period_start": "2026-12-01",
         "period_end": "2027-05-31"}]})

    dataset: str = Field(pattern=COLUMN)
    columns: list[Annotated[str, Field(pattern=COLUMN)]] = Field(min_length=1, max_length=64)
    purpose: str = Field(pattern=r"^[a-z_]{1,64}$")
    legal_basis: str = Field(pattern=r"^[a-z_]{1,32}$", description="a legal_bases category")
    legal_reference: str = Field(min_length=1, max_length=120,
                                 description="the article or document the basis is")
    period_start: date
    period_end: date


class Approve(BaseModel):
    model_config = ConfigDict(extra="forbid")
    columns: list[Annotated[str, Field(pattern=COLUMN)]] | None = Field(
        default=None, max_length=64, description="fewer columns than asked (default: all)")
    until: date | None = Field(default=None, description="last day (default: period end)")


class Refuse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(pattern=r"^[a-z_]{1,32}$", description="a refusal_reasons category")


@router.get("", summary="Sharing requests the caller made or must answer")
def list_requests(work: CaseworkDep, principal: CurrentPrincipal, status: StatusFilter = None,
                  offset: Offset = 0, limit: Limit = 100) -> dict[str, Any]:
    work.sharing.expire_grants(today())
    return page(work.sharing.listing(principal, today(), status), offset, limit)


@router.post("", status_code=201, summary="Apply for conditional columns of a dataset",
             responses=problems(400))
def apply(work: CaseworkDep, principal: CurrentPrincipal,
          body: Annotated[SharingApply, Body()]) -> dict[str, Any]:
    return work.sharing.apply(principal, body.dataset, body.columns, body.purpose,
                              body.legal_basis, body.legal_reference, body.period_start,
                              body.period_end, today())


@router.get("/{request_id}", summary="One sharing request with its history")
def get_request(work: CaseworkDep, principal: CurrentPrincipal,
                request_id: RequestId) -> dict[str, Any]:
    return work.sharing.get(principal, request_id, today())


@router.post("/{request_id}/approve", summary="The owner approves (possibly less)",
             responses=problems(400, 409))
def approve(work: CaseworkDep, principal: CurrentPrincipal, request_id: RequestId,
            body: Annotated[Approve, Body()]) -> dict[str, Any]:
    return work.sharing.approve(principal, request_id, body.columns, body.until, today())


@router.post("/{request_id}/refuse", summary="The owner refuses with a reason",
             responses=problems(400, 409))
def refuse(work: CaseworkDep, principal: CurrentPrincipal, request_id: RequestId,
           body: Annotated[Refuse, Body()]) -> dict[str, Any]:
    return work.sharing.refuse(principal, request_id, body.reason, today())
