"""Batch reports show the demo's planted defects with the manifest's counts; freshness and
conflicts reach the catalog, the findings and the district overview."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from quality_kit import TODAY, Loaded

from catalog.db import create_state_engine
from catalog.detail import dataset_detail, dataset_list
from catalog.quality_store import QualityStore
from catalog.store import CatalogStore
from hub.quality.overview import write_quality_reports


def _batch_result(loaded: Loaded, dataset: str) -> dict[str, Any]:
    folder = loaded.settings.reports_dir / "batches"
    paths = sorted(folder.glob(f"{dataset}-*.json"))
    assert len(paths) == 1, paths
    return json.loads(paths[0].read_text(encoding="utf-8"))


def _html(loaded: Loaded, dataset: str) -> str:
    path = next((loaded.settings.reports_dir / "batches").glob(f"{dataset}-*.html"))
    return path.read_text(encoding="utf-8")


def test_quarantined_defects_have_the_manifest_counts(loaded: Loaded) -> None:
    for dataset, extract in loaded.demo.datasets.items():
        result = _batch_result(loaded, dataset)
        errors = {q["rule"]: q["rows"] for q in result["quarantine"] if q["severity"] == "error"}
        planted = {d["rule"]: d["rows"] for d in extract.defects.values() if d["rule"]}
        assert planted, dataset
        for rule, rows in planted.items():
            assert errors.get(rule) == rows, (dataset, rule)
        html = _html(loaded, dataset)
        for rule, rows in planted.items():
            assert f"<td>{rule}</td><td>error</td><td><span class=\"num\">{rows}</span>" in html


def test_unmapped_grid_codes_fail_the_crosswalk_expectation(loaded: Loaded) -> None:
    for dataset in ("elderly_care", "employment"):
        planted = loaded.demo.datasets[dataset].defects["unmapped_grid_code"]["rows"]
        checks = {e["id"]: e for e in _batch_result(loaded, dataset)["expectations"]}
        mapped = checks["grid_mapped"]
        assert mapped["engine"] == "great_expectations"
        assert mapped["success"] is False
        assert mapped["unexpected_count"] == planted
        assert 0 < mapped["unexpected_share"] < 0.01


def test_contract_expectations_hold_on_loaded_rows(loaded: Loaded) -> None:
    # What pandera let through must satisfy the contract's own rules in the GX suite too.
    result = _batch_result(loaded, "medical")
    contract_checks = [e for e in result["expectations"] if e["kind"] == "contract"]
    assert len(contract_checks) >= 8
    assert all(e["success"] for e in contract_checks), [
        e["id"] for e in contract_checks if not e["success"]]
    assert 90 < result["score"] <= 100


def test_employment_is_overdue_and_the_others_current(loaded: Loaded) -> None:
    engine = create_state_engine(loaded.settings.resolved_state_url)
    try:
        store = CatalogStore(engine)
        status = {d["name"]: d["freshness"]["status"] for d in dataset_list(store, TODAY)}
        detail = dataset_detail(store, "employment", TODAY)
    finally:
        engine.dispose()
    assert status["employment"] == "overdue"
    assert {status[n] for n in ("grid", "elderly_care", "medical")} == {"current"}
    assert detail["freshness"]["lag_days"] == 100
    assert detail["owner"] == "human_resources"
    assert detail["versions"][0]["note"] == "First version."
    assert len(detail["batch_history"]) == 1
    assert detail["batch_history"][0]["content_sha256"]
    assert detail["quality_history"][0]["score"] == detail["quality_score"]
    phone = next(c for c in detail["columns"] if c["name"] == "phone")
    assert (phone["sensitivity"], phone["sharing"]) == ("direct_identifier", "not_shared")
    overview = (loaded.settings.reports_dir / "overview.html").read_text(encoding="utf-8")
    row = overview.split('href="datasets/employment.html"')[1].split("</tr>")[0]
    assert '<span class="bad">overdue</span>' in row


def test_conflicting_facts_are_findings(loaded: Loaded) -> None:
    engine = create_state_engine(loaded.settings.resolved_state_url)
    try:
        findings = QualityStore(engine).list_findings()
        hr_only = QualityStore(engine).list_findings(department="human_resources")
    finally:
        engine.dispose()
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        by_kind.setdefault(f["kind"], []).append(f)
    keys = loaded.keys
    planted = loaded.planted
    expected = {
        "phone": (keys[planted.phone_id], ["employment", "grid"],
                  ["grid_management_centre", "human_resources"]),
        "death_before_benefit": (keys[planted.death_id], ["elderly_care", "grid"],
                                 ["civil_affairs", "grid_management_centre"]),
        "community": (keys[planted.community_id], ["elderly_care", "grid"],
                      ["civil_affairs", "grid_management_centre"]),
    }
    for kind, (key, datasets, departments) in expected.items():
        assert [(f["resident_key"], f["datasets"], f["departments"]) for f in by_kind[kind]] \
            == [(key, datasets, departments)], kind
    assert by_kind["living_alone"]  # the demo registers only ~90% of those living alone
    assert [f["kind"] for f in hr_only] == ["phone"]
    overview = (loaded.settings.reports_dir / "overview.html").read_text(encoding="utf-8")
    for key, _, _ in expected.values():
        assert f"<code>{key}</code>" in overview


def test_cli_function_rewrites_reports_into_another_folder(loaded: Loaded,
                                                           tmp_path: Path) -> None:
    written = write_quality_reports(loaded.settings, None, tmp_path / "out")
    names = {p.relative_to(tmp_path / "out").as_posix() for p in written}
    assert {"overview.html", "overview.json", "findings.json",
            "datasets/employment.html"} <= names
    assert sum(1 for n in names if n.startswith("batches/") and n.endswith(".html")) == 4
    only = write_quality_reports(loaded.settings, "medical", tmp_path / "one")
    assert {p.name for p in only} >= {"medical.html", "medical.json"}
    assert not any(p.name == "overview.html" for p in only)
