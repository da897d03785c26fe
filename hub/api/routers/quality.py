"""Data quality for auditors (everything) and departments (their own datasets only).

Results are value-free by construction (counts, shares, aggregates of non-sensitive columns),
so they travel as they are; the HTML report is rendered from the stored result, offline.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from catalog.detail import dataset_detail
from catalog.errors import DatasetUnknown
from catalog.quality_store import QualityStore
from hub.api.deps import CurrentPrincipal, ServicesDep
from hub.api.problems import ApiProblem
from hub.api.responses import MAX_OFFSET
from hub.quality.findings_view import department_view
from hub.quality.report_html import render_batch
from hub.security.access import can_read_quality
from hub.security.roles import Principal, Role

router = APIRouter(prefix="/v1/quality", tags=["quality"])

BatchId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}-[0-9TZ]{8,32}-[0-9a-f]{8}$",
                              examples=["grid-20261122T013202088018-80447919"])]
Dataset = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["medical"])]


def _not_found(what: str) -> ApiProblem:
    # A batch of another department answers like one that does not exist.
    return ApiProblem(404, "not-found", "Not found", f"no {what} visible to this token")


def _visible_result(quality: QualityStore, principal: Principal, batch_id: str
                    ) -> dict[str, Any]:
    result = quality.batch_result(batch_id)
    if result is None or not can_read_quality(principal, str(result.get("dataset"))):
        raise _not_found("quality result for that batch")
    return result


@router.get("/batches/{batch_id}", summary="Quality result of one batch (JSON)")
def batch_quality(services: ServicesDep, principal: CurrentPrincipal,
                  batch_id: BatchId) -> dict[str, Any]:
    """Expectations with column, success, unexpected count and share; no values."""
    return _visible_result(QualityStore(services.engine), principal, batch_id)


@router.get("/batches/{batch_id}/report", summary="Quality report of one batch (HTML)",
            response_class=HTMLResponse)
def batch_report(services: ServicesDep, principal: CurrentPrincipal,
                 batch_id: BatchId) -> HTMLResponse:
    """A self-contained page: inline CSS and SVG, no scripts, no external URL."""
    result = _visible_result(QualityStore(services.engine), principal, batch_id)
    return HTMLResponse(render_batch(result))


@router.get("/datasets/{dataset}", summary="Quality and freshness of a dataset over time")
def dataset_quality(services: ServicesDep, principal: CurrentPrincipal,
                    dataset: Dataset) -> dict[str, Any]:
    if not can_read_quality(principal, dataset):
        raise _not_found("dataset")
    try:
        detail = dataset_detail(services.catalog, dataset, date.today())
    except DatasetUnknown:
        raise _not_found("dataset") from None
    keep = ("name", "owner", "freshness", "freshness_history", "quality_score",
            "quality_history", "open_findings")
    out = {k: detail[k] for k in keep if k in detail}
    out["score_history"] = QualityStore(services.engine).score_history(dataset)
    return out


@router.get("/findings", summary="Cross-department consistency findings")
def findings(services: ServicesDep, principal: CurrentPrincipal,
             status: Annotated[str | None, Query(pattern="^(open|resolved)$")] = "open",
             kind: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = None,
             offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
             limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Auditors see every finding; a department those involving its own datasets, and of
    those only its own side: its dataset and column, the rule and how many other sources
    disagree (hub.quality.findings_view), never another department's classification."""
    quality = QualityStore(services.engine)
    if principal.role in (Role.AUDITOR, Role.ADMIN):
        items = quality.list_findings(status=status, kind=kind)
    elif principal.role == Role.DEPARTMENT:
        own = set(principal.scope)
        seen: dict[str, dict[str, Any]] = {}
        for dataset in principal.scope:
            for item in quality.list_findings(status=status, kind=kind, dataset=dataset):
                seen[str(item["finding_id"])] = department_view(item, own)
        items = list(seen.values())
    else:
        raise ApiProblem(403, "forbidden", "Forbidden", "quality findings are for auditors "
                                                        "and the departments that own the data")
    return {"total": len(items), "items": items[offset:offset + limit]}
