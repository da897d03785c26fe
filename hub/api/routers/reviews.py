"""The linkage review queue: department rows without a usable ID that probably belong to a
registry resident, for the owning department's data steward (or an administrator) to decide.

Each item shows the two records side by side, masked (a name as 王*, a phone as 138****1234,
a birth date as its year), with the comparison level that decided each field and its match
weight. Accepting links the row's facts to the resident (shown as linked by review);
rejecting keeps the row quarantined. Every decision is one audit record; the pipeline worker
carries it out and republishes the views.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from hub.api.deps import CurrentPrincipal, ServicesDep
from hub.api.problems import ApiProblem
from hub.api.responses import MAX_OFFSET, problems
from hub.pipeline.reviews import OPEN, ReviewAlreadyDecided, ReviewQueue
from hub.security.roles import Principal, Role

router = APIRouter(prefix="/v1/linkage/reviews", tags=["uploads"])

ReviewId = Annotated[str, Path(pattern=r"^rv-[0-9a-f]{24}$")]


def _datasets(principal: Principal) -> tuple[str, ...] | None:
    """The datasets whose items the caller decides (None: all); 403 for other roles."""
    if principal.role == Role.ADMIN:
        return None
    if principal.role == Role.DEPARTMENT:
        return principal.scope
    raise ApiProblem(403, "forbidden", "Forbidden",
                     "linkage reviews are decided by the owning department's data steward")


def _visible(services: Any, principal: Principal, review_id: str) -> dict[str, Any]:
    datasets = _datasets(principal)
    item = ReviewQueue(services.engine).get(review_id)
    if item is None or (datasets is not None and item["dataset"] not in datasets):
        # Another department's item answers like one that does not exist.
        raise ApiProblem(404, "not-found", "Not found", "no linkage review with this id for "
                                                        "your datasets")
    return item


@router.get("", summary="Linkage reviews of your datasets", responses=problems(403))
def list_reviews(services: ServicesDep, principal: CurrentPrincipal,
                 status: Annotated[str, Query(pattern="^(open|accepted|rejected)$")] = OPEN,
                 offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """Most probable first; each item with its side-by-side comparison."""
    items, total = ReviewQueue(services.engine).list(_datasets(principal), status, offset,
                                                     limit)
    return {"items": items, "total": total, "offset": offset, "limit": limit}


@router.get("/{review_id}", summary="One linkage review, side by side",
            responses=problems(403, 404))
def show_review(services: ServicesDep, principal: CurrentPrincipal,
                review_id: ReviewId) -> dict[str, Any]:
    return _visible(services, principal, review_id)


def _decide(services: Any, principal: Principal, review_id: str, accept: bool
            ) -> dict[str, Any]:
    item = _visible(services, principal, review_id)
    try:
        decided = ReviewQueue(services.engine).decide(review_id, accept, principal.actor)
    except ReviewAlreadyDecided as exc:
        raise ApiProblem(409, "review-decided", "Already decided",
                         f"this review was already {exc.decided}") from None
    services.audit.append(action="linkage.review", outcome=decided["status"],
                          principal=principal, resident_key=item["resident_key"],
                          detail={"review_id": review_id, "dataset": item["dataset"],
                                  "batch_id": item["batch_id"],
                                  "source_row": item["source_row"]})
    return decided


@router.post("/{review_id}/accept", summary="Accept: the row belongs to the resident",
             responses=problems(403, 404, 409))
def accept(services: ServicesDep, principal: CurrentPrincipal,
           review_id: ReviewId) -> dict[str, Any]:
    """The row's facts join the resident's view (linked by review) at the next publish."""
    return _decide(services, principal, review_id, True)


@router.post("/{review_id}/reject", summary="Reject: the row stays quarantined",
             responses=problems(403, 404, 409))
def reject(services: ServicesDep, principal: CurrentPrincipal,
           review_id: ReviewId) -> dict[str, Any]:
    return _decide(services, principal, review_id, False)
