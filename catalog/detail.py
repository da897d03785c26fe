"""What the catalog says about a dataset, assembled for the API, the CLI and the reports.

Metadata only (shared unconditionally): owner, description, contract version history,
columns with sensitivity and sharing class, legal basis, promised update frequency and the
resulting freshness, batch history with lineage and the quality score over time. Nothing
here describes a resident.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from catalog.freshness import freshness, freshness_history, latest_loaded
from catalog.quality_store import QualityStore
from catalog.store import CatalogStore
from catalog.versions import version_history

LINEAGE = ("batch_id", "source", "department", "location", "content_sha256",
           "contract_version", "grid_scheme", "rows_read", "rows_loaded", "rows_quarantined",
           "outcome", "reason", "as_of", "started_at", "finished_at")


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _lineage(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: _jsonable(batch.get(k)) for k in LINEAGE}


def _summary(dataset: dict[str, Any], batches: list[dict[str, Any]], quality: QualityStore,
             today: date) -> dict[str, Any]:
    entry = dataset["entry"]
    latest = latest_loaded(batches)
    scores = {s["batch_id"]: s["score"] for s in quality.score_history(dataset["name"])}
    last = batches[0] if batches else None  # newest first
    return {
        "name": dataset["name"],
        "title": dataset["title"],
        "owner": dataset["owner"],
        "kind": dataset["kind"],
        "sharing": dataset["sharing"],
        "current_version": dataset["current_version"],
        "update_frequency_days": dataset["update_frequency_days"],
        "legal_basis": entry.get("legal_basis", ""),
        "freshness": freshness(latest["as_of"] if latest else None,
                               dataset["update_frequency_days"], today),
        "latest_batch": latest["batch_id"] if latest else None,
        "batches": len(batches),
        # The score of the data in use: a rejected or held batch replaces nothing, so it
        # does not move the headline; its own outcome and score are shown apart.
        "quality_score": scores.get(latest["batch_id"]) if latest else None,
        "last_batch": None if last is None else {
            "batch_id": last["batch_id"], "outcome": last["outcome"],
            "reason": last.get("reason") or "", "score": scores.get(last["batch_id"])},
    }


def _quality(store: CatalogStore) -> QualityStore:
    return QualityStore(store.engine)


def dataset_list(store: CatalogStore, today: date) -> list[dict[str, Any]]:
    """Every dataset with owner, version, freshness and latest quality score."""
    quality = _quality(store)
    out = []
    for dataset in store.list_datasets():
        batches = store.list_batches(dataset["name"], limit=10_000)
        out.append(_summary(dataset, batches, quality, today))
    return out


def dataset_detail(store: CatalogStore, name: str, today: date,
                   batch_limit: int = 200) -> dict[str, Any]:
    """One dataset in full; raises `DatasetUnknown` for a name the catalog lacks."""
    dataset = store.get_dataset(name)
    quality = _quality(store)
    batches = store.list_batches(name, limit=batch_limit)
    detail = _summary(dataset, batches, quality, today)
    entry = dataset["entry"]
    detail.update({
        "description": entry.get("description", ""),
        "unique": entry.get("unique", []),
        "bad_row_threshold": entry.get("bad_row_threshold"),
        "columns": [{k: c.get(k) for k in ("name", "curated_name", "type", "required",
                                           "nullable", "sensitivity", "sharing", "deid",
                                           "description")}
                    for c in entry.get("columns", [])],
        "versions": version_history(store, name),
        "batch_history": [_lineage(b) for b in batches],
        "freshness_history": freshness_history(batches, dataset["update_frequency_days"]),
        "quality_history": quality.score_history(name),
        "open_findings": len(quality.list_findings(dataset=name)),
    })
    return detail
