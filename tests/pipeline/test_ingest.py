"""The pipeline on the demo district: what a department and an operator see after an ingest."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from hub.keys.config import init_keys
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings
from schemas.registry import get_contract

DATASETS = ["grid", "elderly_care", "medical", "employment"]


def _query(settings: HubSettings, sql: str, params: list[Any] | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> HubSettings:
    """One home for the module, loaded once by `ingested`: the tests read it, and the one
    that ingests again asserts that this changes nothing."""
    made = HubSettings(home=tmp_path_factory.mktemp("ingest") / "home", chunk_rows=1_000,
                       quality_checks=False)
    init_keys(made)
    return made


@pytest.fixture(scope="module")
def ingested(settings: HubSettings, demo: Any) -> dict[str, Any]:
    results = {}
    with PipelineWorker(settings) as worker:
        for name in DATASETS:
            extract = demo.datasets[name]
            results[name] = worker.ingest(Path(extract.source_yaml), Path(extract.path))
    return results


def test_every_demo_department_loads_with_its_defects_quarantined(
        settings: HubSettings, demo: Any, ingested: dict[str, Any]) -> None:
    for name in DATASETS:
        result = ingested[name]
        extract = demo.datasets[name]
        assert result.outcome == "loaded", (name, result.reason)
        assert result.rows_read == extract.rows
        assert result.rows_loaded + result.rows_quarantined == result.rows_read
        (loaded,) = _query(settings, f"SELECT count(*) FROM curated.{name} WHERE batch_id = ?",
                           [result.batch_id])[0]
        assert loaded == result.rows_loaded
        expected = Counter()
        for defect in extract.defects.values():
            if defect["rule"]:
                expected[defect["rule"]] += defect["rows"]
        found = dict(_query(
            settings,
            "SELECT rule, count(DISTINCT source_row) FROM quarantine.row_issues "
            "WHERE batch_id = ? AND severity = 'error' GROUP BY rule", [result.batch_id]))
        assert found == dict(expected), name
        assert result.rows_quarantined == sum(expected.values())


def test_same_content_again_is_reported_and_adds_nothing(
        settings: HubSettings, demo: Any, ingested: dict[str, Any]) -> None:
    before = {n: _query(settings, f"SELECT count(*) FROM curated.{n}")[0][0] for n in DATASETS}
    issues_before = _query(settings, "SELECT count(*) FROM quarantine.row_issues")[0][0]
    vault_before = _query(settings, "SELECT count(*) FROM vault.identity")[0][0]
    with PipelineWorker(settings) as worker:
        for name in DATASETS:
            extract = demo.datasets[name]
            again = worker.ingest(Path(extract.source_yaml), Path(extract.path))
            assert again.outcome == "already_ingested"
            assert again.batch_id == ingested[name].batch_id
    after = {n: _query(settings, f"SELECT count(*) FROM curated.{n}")[0][0] for n in DATASETS}
    assert after == before
    assert _query(settings, "SELECT count(*) FROM quarantine.row_issues")[0][0] == issues_before
    assert _query(settings, "SELECT count(*) FROM vault.identity")[0][0] == vault_before
    assert _query(settings, "SELECT count(*) FROM meta.batches")[0][0] == len(DATASETS)


def test_catalog_records_each_batch_with_lineage(
        settings: HubSettings, ingested: dict[str, Any]) -> None:
    from hub.pipeline.worker import open_catalog

    catalog = open_catalog(settings)
    for name, result in ingested.items():
        record = catalog.get_batch(result.batch_id)
        assert record is not None
        assert record["dataset"] == name
        assert record["outcome"] == "loaded"
        assert len(record["content_sha256"]) == 64
        assert record["contract_version"] == get_contract(name).version
        assert record["rows_loaded"] == result.rows_loaded
        assert set(record["timings"]) >= {"read", "validate", "deidentify", "commit"}
    assert {d["name"] for d in catalog.list_datasets()} >= set(DATASETS)


def test_every_loaded_row_carries_its_batch_and_a_resident_key(
        settings: HubSettings, ingested: dict[str, Any]) -> None:
    for name in DATASETS:
        bad = _query(settings, f"SELECT count(*) FROM curated.{name} WHERE batch_id IS NULL "
                               "OR resident_key IS NULL OR length(resident_key) <> 32")[0][0]
        assert bad == 0, name


def test_department_records_link_to_grid_residents(
        settings: HubSettings, ingested: dict[str, Any]) -> None:
    # Pseudonyms are deterministic across departments, so the same person joins up.
    for name in ["elderly_care", "medical", "employment"]:
        (linked, total) = _query(
            settings,
            f"SELECT count(*) FILTER (WHERE g.resident_key IS NOT NULL), count(*) "
            f"FROM curated.{name} d LEFT JOIN curated.grid g USING (resident_key)")[0]
        assert total > 0
        assert linked / total > 0.95, name
