"""Correction requests (`/v1/corrections`): a doubtful value back to the department that owns
it, on a working-day clock (hub.casework.corrections). Requests name dataset, column, rule and
resident key, never a value; the department acknowledges, corrects (the batch) or disputes
(a reason category); a loaded batch that no longer shows the finding closes the request."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.api.casework_deps import CaseworkDep, Limit, Offset, StatusFilter, page, today
from hub.api.deps import CurrentPrincipal, ServicesDep
from hub.api.responses import problems
from hub.quality.correction_counts import correction_counts

router = APIRouter(prefix="/v1/corrections", tags=["corrections"])

RequestId = Annotated[str, Path(pattern=r"^cr-[0-9a-f]{16}$", examples=["cr-0123456789abcdef"])]
NAME = r"^[a-z][a-z0-9_]{0,63}$"


class CorrectionNew(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"origin": "finding", "finding_id": "0f3c2a9d4b5e6f708192a3b4c5d6e7f8"}]})

    origin: Literal["finding", "quality", "report"]
    finding_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    dataset: str | None = Field(default=None, pattern=NAME)
    column: str | None = Field(default=None, pattern=NAME)
    rule: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_:.-]{0,127}$")
    batch_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,96}$")
    resident_key: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")


class Correct(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,96}$")


class Dispute(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(pattern=r"^[a-z_]{1,32}$", description="a dispute_reasons category")


def _missing(field: str) -> Any:
    from hub.casework.errors import ItemInvalid

    return ItemInvalid(field, "required for this origin")


@router.get("", summary="Correction requests visible to the caller")
def list_corrections(work: CaseworkDep, principal: CurrentPrincipal,
                     status: StatusFilter = None,
                     dataset: Annotated[str | None, Query(pattern=NAME)] = None,
                     offset: Offset = 0, limit: Limit = 100) -> dict[str, Any]:
    """A department: requests to its datasets; auditors and admins: all; others: their own.
    `status` also takes `overdue`."""
    return page(work.corrections.listing(principal, today(), status, dataset), offset, limit)


@router.post("", status_code=201, summary="Open a correction request",
             responses=problems(400, 409))
def open_correction(work: CaseworkDep, principal: CurrentPrincipal,
                    body: Annotated[CorrectionNew, Body()]) -> dict[str, Any]:
    """From a cross-department finding (`finding_id`, optionally which of its `dataset`s),
    a failed quality check (`dataset`, `batch_id`, `column`, `rule`: the check id) or a
    person's report (`dataset`, `column`, `rule`, optional `resident_key`)."""
    c = work.corrections
    if body.origin == "finding":
        if body.finding_id is None:
            raise _missing("finding_id")
        return c.from_finding(principal, body.finding_id, today(), body.dataset)
    if body.dataset is None or body.column is None or body.rule is None:
        raise _missing("dataset, column, rule")
    if body.origin == "quality":
        if body.batch_id is None:
            raise _missing("batch_id")
        return c.from_quality(principal, body.dataset, body.batch_id, body.column, body.rule,
                              today())
    return c.from_report(principal, body.dataset, body.column, body.rule, body.resident_key,
                         today())


@router.get("/summary", summary="Per department: open, overdue, median days to correct")
def summary(services: ServicesDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return {"departments": correction_counts(services.engine, today())}


@router.get("/{request_id}", summary="One correction request with its history")
def get_correction(work: CaseworkDep, principal: CurrentPrincipal,
                   request_id: RequestId) -> dict[str, Any]:
    return work.corrections.get(principal, request_id, today())


@router.post("/{request_id}/acknowledge", summary="The department takes it on",
             responses=problems(400, 409))
def acknowledge(work: CaseworkDep, principal: CurrentPrincipal,
                request_id: RequestId) -> dict[str, Any]:
    return work.corrections.acknowledge(principal, request_id, today())


@router.post("/{request_id}/correct", summary="Corrected at source (in a batch)",
             responses=problems(400, 409))
def correct(work: CaseworkDep, principal: CurrentPrincipal, request_id: RequestId,
            body: Annotated[Correct, Body()]) -> dict[str, Any]:
    return work.corrections.correct(principal, request_id, body.batch_id, today())


@router.post("/{request_id}/dispute", summary="The department disputes it (to the admin)",
             responses=problems(400, 409))
def dispute(work: CaseworkDep, principal: CurrentPrincipal, request_id: RequestId,
            body: Annotated[Dispute, Body()]) -> dict[str, Any]:
    return work.corrections.dispute(principal, request_id, body.reason, today())


@router.post("/{request_id}/withdraw", summary="Admin: the request ends (dispute upheld)",
             responses=problems(400, 409))
def withdraw(work: CaseworkDep, principal: CurrentPrincipal,
             request_id: RequestId) -> dict[str, Any]:
    return work.corrections.withdraw(principal, request_id, today())


@router.post("/{request_id}/reopen", summary="Admin: the dispute is rejected",
             responses=problems(400, 409))
def reopen(work: CaseworkDep, principal: CurrentPrincipal,
           request_id: RequestId) -> dict[str, Any]:
    return work.corrections.reopen(principal, request_id, today())
