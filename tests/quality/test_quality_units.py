"""Freshness rules, contract version diffs and the findings lifecycle; a missing registry or
crosswalk leaves those checks marked as not evaluated instead of failing the batch."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from quality_kit import Loaded

from catalog.db import create_state_engine
from catalog.freshness import freshness
from catalog.quality_store import QualityStore
from catalog.store import CatalogStore
from catalog.versions import version_history
from hub.keys.config import init_keys
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings
from hub.state.migrate import upgrade_state
from schemas.compile_catalog import catalog_entry
from schemas.registry import get_contract

TODAY = date(2026, 6, 30)


@pytest.mark.parametrize(("as_of", "status", "lag"), [
    ("2026-06-30", "current", 0), ("2026-05-31", "current", 30), ("2026-05-30", "due", 31),
    ("2026-05-24", "due", 37), ("2026-05-23", "overdue", 38), (None, "no_data", None)])
def test_freshness_against_a_monthly_promise(as_of: str | None, status: str,
                                             lag: int | None) -> None:
    state = freshness(as_of, 30, TODAY)
    assert (state["status"], state["lag_days"]) == (status, lag)


def test_derived_dataset_has_no_promise() -> None:
    assert freshness("2026-06-01", None, TODAY)["status"] == "not_promised"


def _store(tmp_path: Path) -> CatalogStore:
    store = CatalogStore(create_state_engine(f"sqlite:///{tmp_path / 'state.sqlite'}"))
    upgrade_state(store.engine)
    return store


def test_version_history_diffs_columns_and_keeps_the_note(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = catalog_entry(get_contract("employment"))
    second = json.loads(json.dumps(first))
    second["version"] = "1.1.0"
    second["changes"]["1.1.0"] = "Phone becomes optional; new column email."
    second["columns"] = [c for c in second["columns"] if c["name"] != "grid_code"]
    second["columns"].append({**second["columns"][0], "name": "email", "curated_name": None})
    next(c for c in second["columns"] if c["name"] == "phone")["sharing"] = "conditional"
    store.register_contract(first)
    store.register_contract(second)
    history = version_history(store, "employment")
    store.engine.dispose()
    assert [h["version"] for h in history] == ["1.0.0", "1.1.0"]
    diff = history[1]["diff"]
    assert history[1]["note"].startswith("Phone becomes optional")
    assert (diff["added"], diff["removed"]) == (["email"], ["grid_code"])
    assert diff["changed"] == {"phone": {"sharing": ["not_shared", "conditional"]}}


def test_findings_resolve_when_the_conflict_is_gone(tmp_path: Path) -> None:
    store = _store(tmp_path)
    quality = QualityStore(store.engine)
    upgrade_state(quality.engine)
    a = {"kind": "phone", "resident_key": "k1", "datasets": ["grid", "employment"],
         "departments": ["hr", "grid_centre"], "detail": "differ"}
    b = {**a, "resident_key": "k2"}
    t0, t1 = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC)
    assert quality.refresh_findings(["phone"], [a, b], t0) == {"new": 2, "kept": 0,
                                                                "resolved": 0}
    assert quality.refresh_findings(["phone"], [b], t1) == {"new": 0, "kept": 1, "resolved": 1}
    assert [f["resident_key"] for f in quality.list_findings()] == ["k2"]
    resolved = quality.list_findings(status="resolved")
    assert [(f["resident_key"], f["resolved_at"][:10]) for f in resolved] == [("k1",
                                                                               "2026-06-02")]
    # Another kind's refresh leaves phone findings alone.
    quality.refresh_findings(["living_alone"], [])
    assert len(quality.list_findings(kind="phone")) == 1
    store.engine.dispose()


def test_checks_without_registry_or_crosswalk_are_not_evaluated(loaded: Loaded,
                                                               tmp_path: Path) -> None:
    settings = HubSettings(home=tmp_path / "home", chunk_rows=1_000)
    init_keys(settings)
    extract = loaded.demo.datasets["medical"]
    with PipelineWorker(settings) as worker:
        assert worker.ingest(Path(extract.source_yaml), Path(extract.path)).ok
    report = next((settings.reports_dir / "batches").glob("medical-*.json"))
    checks = {e["id"]: e for e in json.loads(report.read_text(encoding="utf-8"))["expectations"]}
    assert checks["in_registry"]["success"] is None
    assert "no grid registry" in checks["in_registry"]["description"]
    assert checks["period_order"]["success"] is True
