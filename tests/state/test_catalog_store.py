"""Catalog, batch history and quality results on both databases: upserts replace, JSON and
times come back as written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from catalog.quality_store import QualityStore
from catalog.store import CatalogStore
from schemas.compile_catalog import catalog_entry
from schemas.registry import get_contract

T0 = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


def _batch(batch_id: str, outcome: str, started: datetime) -> dict[str, object]:
    return {"batch_id": batch_id, "dataset": "grid", "source": "grid_registry",
            "department": "grid_centre", "location": "inbox/x.csv", "content_sha256": "0" * 64,
            "contract_version": "1.0.0", "grid_scheme": None, "rows_read": 10,
            "rows_loaded": 9, "rows_quarantined": 1, "outcome": outcome, "reason": None,
            "as_of": "2026-05-31T00:00:00", "started_at": started,
            "finished_at": started + timedelta(seconds=3), "timings": '{"read": 0.5}',
            "top_rules": [["resident_id:check_character", 1]]}


def test_contracts_and_batches_upsert(engine: Engine) -> None:
    store = CatalogStore(engine)
    entry = catalog_entry(get_contract("grid"))
    store.register_contract(entry)
    newer = {**entry, "version": "9.0.0", "title": "新标题"}
    store.register_contract(newer)
    store.register_contract(newer)  # idempotent
    (grid,) = [d for d in store.list_datasets() if d["name"] == "grid"]
    assert (grid["current_version"], grid["title"]) == ("9.0.0", "新标题")
    assert grid["entry"]["columns"] == entry["columns"]

    store.record_batch(_batch("b1", "rejected", T0))
    store.record_batch(_batch("b1", "loaded", T0))  # a repaired record replaces the row
    assert store.sync_batches([_batch("b1", "loaded", T0),
                               _batch("b2", "loaded", T0 + timedelta(hours=1))]) == 1
    assert [b["batch_id"] for b in store.list_batches("grid")] == ["b2", "b1"]
    b1 = store.get_batch("b1")
    assert b1 is not None
    assert (b1["outcome"], b1["as_of"], b1["timings"]) == ("loaded", "2026-05-31",
                                                           {"read": 0.5})
    assert b1["top_rules"] == [["resident_id:check_character", 1]]
    assert b1["started_at"].astimezone(UTC) == T0
    assert store.get_batch("missing") is None


def test_quality_results_and_findings(engine: Engine) -> None:
    quality = QualityStore(engine)
    result = {"batch_id": "b1", "dataset": "grid", "department": "grid_centre",
              "as_of": "2026-05-31", "evaluated_at": T0.isoformat(), "rows_evaluated": 10,
              "score": 0.5, "expectations": [{"id": "a", "success": False}]}
    quality.record_batch_result(result)
    quality.record_batch_result({**result, "score": 0.9, "expectations": [
        {"id": "a", "success": True}, {"id": "b", "success": False}]})
    (history,) = quality.score_history("grid")
    assert (history["score"], history["expectations"], history["failed"]) == (0.9, 2, 1)
    assert quality.batch_result("b1") == {**result, "score": 0.9, "expectations": [
        {"id": "a", "success": True}, {"id": "b", "success": False}]}

    a = {"kind": "phone", "resident_key": "k1", "datasets": ["grid", "employment"],
         "departments": ["hr", "grid_centre"], "detail": "differ"}
    b = {**a, "resident_key": "k2", "datasets": ["grid", "medical"]}
    assert quality.refresh_findings(["phone"], [a, b], T0) == {"new": 2, "kept": 0,
                                                                "resolved": 0}
    assert quality.refresh_findings(["phone"], [b], T0 + timedelta(days=1)) == {
        "new": 0, "kept": 1, "resolved": 1}
    assert [f["resident_key"] for f in quality.list_findings(dataset="medical")] == ["k2"]
    assert quality.finding_counts() == [{"kind": "phone", "datasets": ["grid", "medical"],
                                         "findings": 1}]
    (gone,) = quality.list_findings(status="resolved")
    assert gone["resolved_at"].startswith("2026-06-02")
