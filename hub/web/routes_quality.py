"""Quality pages: the district overview with the open cross-department findings, each
dataset's trend over its batches, and each batch's report.

They are the offline reports' own templates (hub/pages/templates/quality, filled by
hub.quality.report_html) drawn inside the console's frame, with links between them pointing
at console pages instead of report files. Who sees what is the API's rule
(`can_read_quality`): auditors and administrators everything, a department its own datasets.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from catalog.detail import dataset_detail
from catalog.errors import DatasetUnknown
from catalog.quality_store import QualityStore
from hub.api.redact import without_paths
from hub.quality.overview import build_overview
from hub.quality.report_html import batch_context, dataset_context, overview_context
from hub.security.access import can_read_quality
from hub.web.render import page
from hub.web.routes_auth import SignedIn, signed_in, to_login
from hub.web.state import console_state

router = APIRouter(prefix="/console/quality", include_in_schema=False)
FRAME = "console/layout.html"
Dataset = Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
BatchId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_.:-]{1,96}$")]


def not_found(who: SignedIn) -> Response:
    return page("console/error.html", locale=who.user.locale, status=404, who=who,
                problem="quality-not-found")


def quality_page(who: SignedIn, template: str, context: dict[str, Any],
                 current_path: str = "") -> Response:
    return page(template, locale=who.user.locale, who=who, frame=FRAME,
                current_path=current_path, **context)


@router.get("")
def overview(request: Request) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    if not can_read_quality(who.user.principal, None):
        return not_found(who)
    services = console_state(request).services
    found = build_overview(services.catalog, QualityStore(services.engine), date.today())
    return quality_page(who, "quality/overview.html",
                        {**overview_context(found),
                         "dataset_href": "/console/quality/datasets/%s"},
                        current_path="/console/quality")


@router.get("/datasets/{dataset}")
def dataset(request: Request, dataset: Dataset) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    if not can_read_quality(who.user.principal, dataset):
        return not_found(who)
    try:
        detail = dataset_detail(console_state(request).services.catalog, dataset, date.today())
    except DatasetUnknown:
        return not_found(who)
    for batch in detail.get("batch_history", []):  # where on the server: the file name only
        batch["location"] = without_paths(batch.get("location"))
        batch["reason"] = without_paths(batch.get("reason"))
    links = {b["batch_id"]: f"/console/quality/batches/{b['batch_id']}"
             for b in detail.get("batch_history", [])}
    return quality_page(who, "quality/dataset.html", dataset_context(detail, links))


@router.get("/batches/{batch_id}")
def batch(request: Request, batch_id: BatchId) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    result = QualityStore(console_state(request).services.engine).batch_result(batch_id)
    if result is None or not can_read_quality(who.user.principal, str(result.get("dataset"))):
        return not_found(who)
    shown = {**result, "reason": without_paths(result.get("reason"))}
    return quality_page(who, "quality/batch.html", batch_context(shown))
