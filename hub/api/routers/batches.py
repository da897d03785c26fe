"""A held snapshot confirmed or discarded by its department (or an administrator).

A snapshot that would drop more than its source's `max_drop` of the current rows or
residents is loaded but held (`awaiting_confirmation`): it replaces nothing until a person
decides. The decision is queued; the pipeline worker carries it out, rebuilds the ledger and
republishes the views. `GET /v1/batches/{batch_id}/decision` follows it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from hub.api.deps import CurrentPrincipal, ServicesDep
from hub.api.problems import ApiProblem
from hub.api.responses import problems
from hub.pipeline.decisions import DecisionQueue
from hub.pipeline.load_modes import HELD
from hub.security import access

router = APIRouter(tags=["uploads"])

BatchId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_.:-]{1,96}$")]


def _not_found() -> ApiProblem:
    return ApiProblem(404, "not-found", "Not found", "no batch with this id for your datasets")


def _view(decision: dict[str, Any]) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {"decision_id": decision["decision_id"], "batch_id": decision["batch_id"],
            "dataset": decision["dataset"], "decision": decision["decision"],
            "status": decision["status"], "outcome": decision.get("outcome"),
            "reason": decision.get("reason"), "created_at": iso(decision.get("created_at")),
            "finished_at": iso(decision.get("finished_at"))}


def decide(services: Any, principal: Any, batch_id: str, decision: str) -> JSONResponse:
    """Queue `decision` (confirm or discard) on a held batch of the caller's datasets."""
    batch = services.catalog.get_batch(batch_id)
    if batch is None or not access.can_upload(principal, batch["dataset"]):
        raise _not_found()  # another department's batch looks like none
    if batch["outcome"] != HELD:
        raise ApiProblem(409, "batch-not-held", "Batch not awaiting confirmation",
                         "this batch is not awaiting confirmation; only a held snapshot is "
                         "confirmed or discarded (see its upload's status)")
    queued = DecisionQueue(services.engine).enqueue(batch_id, batch["dataset"], decision,
                                                    principal.token_id)
    body = {**_view(queued), "status_url": f"/v1/batches/{batch_id}/decision"}
    return JSONResponse(body, status_code=202, headers={"Location": body["status_url"]})


@router.post("/v1/batches/{batch_id}/confirm", status_code=202,
             summary="Confirm a held snapshot", responses=problems(404, 409))
def confirm(services: ServicesDep, principal: CurrentPrincipal,
            batch_id: BatchId) -> JSONResponse:
    """The held snapshot becomes its source's current data: it replaces what the source sent
    before, as a whole extract does."""
    return decide(services, principal, batch_id, "confirm")


@router.post("/v1/batches/{batch_id}/discard", status_code=202,
             summary="Discard a held snapshot", responses=problems(404, 409))
def discard(services: ServicesDep, principal: CurrentPrincipal,
            batch_id: BatchId) -> JSONResponse:
    """The held snapshot is never used; the source's current data stays as it was."""
    return decide(services, principal, batch_id, "discard")


@router.get("/v1/batches/{batch_id}/decision", summary="The decision on a held snapshot",
            responses=problems(404))
def decision_status(services: ServicesDep, principal: CurrentPrincipal,
                    batch_id: BatchId) -> dict[str, Any]:
    """queued, running, done (with the batch's new outcome) or failed (with why)."""
    batch = services.catalog.get_batch(batch_id)
    if batch is None or not access.can_read_batch(principal, batch["dataset"]):
        raise _not_found()
    latest = DecisionQueue(services.engine).latest(batch_id)
    if latest is None:
        raise ApiProblem(404, "not-found", "Not found", "no decision on this batch yet")
    return _view(latest)
