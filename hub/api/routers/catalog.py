"""The catalog: datasets, owners, versions, freshness, quality (metadata only)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path

from catalog.detail import dataset_detail, dataset_list
from catalog.errors import DatasetUnknown
from hub.api.deps import CurrentPrincipal, ServicesDep
from hub.api.problems import ApiProblem
from hub.api.redact import without_paths

router = APIRouter(prefix="/v1/catalog", tags=["catalog"])

DATASETS_EXAMPLE = [{
    "name": "elderly_care", "title": "Elderly care services and allowances",
    "owner": "civil_affairs", "kind": "source", "sharing": "conditional",
    "current_version": "1.0.0", "update_frequency_days": 31, "legal_basis": "",
    "freshness": {"status": "current", "lag_days": 12, "next_due": "2026-11-20"},
    "latest_batch": "elderly_care-20261020T081500000000-1a2b3c4d", "batches": 3,
    "quality_score": 0.97}]


@router.get("/datasets", summary="List datasets",
            responses={200: {"description": "every dataset", "content": {
                "application/json": {"example": {"datasets": DATASETS_EXAMPLE}}}}})
def list_datasets(services: ServicesDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Catalog metadata is shared unconditionally: any authenticated caller may read it."""
    return {"datasets": dataset_list(services.catalog, date.today())}


@router.get("/datasets/{dataset}", summary="One dataset in full")
def get_dataset(services: ServicesDep, principal: CurrentPrincipal,
                dataset: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
                ) -> dict[str, Any]:
    """Columns with sensitivity and sharing class, versions, batch lineage, freshness and
    quality history. An unknown dataset answers 404 (DatasetUnknown)."""
    try:
        detail = dataset_detail(services.catalog, dataset, date.today())
    except DatasetUnknown:
        raise ApiProblem(404, "not-found", "Not found", "no dataset with this name; "
                         "GET /v1/catalog/datasets lists them") from None
    for batch in detail.get("batch_history", []):  # where on the server: the file name only
        batch["location"] = without_paths(batch.get("location"))
        batch["reason"] = without_paths(batch.get("reason"))
    return detail
