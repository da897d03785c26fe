"""One person under two ID numbers in the grid registry becomes a cross-department finding
for the grid centre, and both residents stay as they are (nothing merged)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from catalog.quality_store import QualityStore
from hub.keys.config import init_keys
from hub.pipeline.worker import PipelineWorker, open_catalog
from hub.settings import HubSettings, LinkageSettings
from tests.conftest import DemoDistrict
from tests.privacy_scan import valid_id


def _other_id(raw: str) -> str:
    """The same area and birth date with another sequence number, its check right."""
    head = raw[:14] + f"{(int(raw[14:17]) + 2) % 1000:03d}"
    return next(head + c for c in "0123456789X" if valid_id(head + c))


def _registered_twice(demo_district: DemoDistrict, tmp_path: Path
                      ) -> tuple[dict[str, str], Path]:
    """The first 400 registry rows and one of their residents again under another ID."""
    source = Path(demo_district.demo.datasets["grid"].path)
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[:400]
    person = next(r for r in rows if len(r["身份证号"]) == 18 and valid_id(r["身份证号"])
                  and r["联系电话"])
    twice = {**person, "身份证号": _other_id(person["身份证号"]),
             "户编号": person["户编号"] + "9", "与户主关系": "户主"}
    extract = tmp_path / "grid.csv"
    with extract.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, twice])
    return person, extract


def _duplicate_findings(settings: HubSettings) -> list[dict[str, Any]]:
    catalog = open_catalog(settings)
    try:
        return [f for f in QualityStore(catalog.engine).list_findings()
                if f["kind"] == "registry_duplicate"]
    finally:
        catalog.engine.dispose()


def test_a_resident_registered_twice_is_a_finding_not_a_merge(
        demo_district: DemoDistrict, tmp_path: Path) -> None:
    person, extract = _registered_twice(demo_district, tmp_path)
    settings = HubSettings(home=tmp_path / "home", chunk_rows=1_000)
    init_keys(settings)
    with PipelineWorker(settings) as worker:
        result = worker.ingest(Path(demo_district.demo.datasets["grid"].source_yaml), extract)
        assert result.outcome == "loaded"
        published = worker.publish()
    findings = _duplicate_findings(settings)
    assert len(findings) == 2  # one per resident, each naming the other
    assert {f["datasets"] == ["grid"] for f in findings} == {True}
    assert {f["departments"] == ["grid_management_centre"] for f in findings} == {True}
    keys = {f["resident_key"] for f in findings}
    assert all(other in f["detail"] for f in findings for other in keys - {f["resident_key"]})
    assert person["身份证号"] not in str(findings)
    assert person["姓名"] not in str(findings)
    assert published["residents"] == result.rows_loaded  # both kept: nothing merged


def test_the_search_is_off_where_the_district_turns_it_off(
        demo_district: DemoDistrict, tmp_path: Path) -> None:
    _, extract = _registered_twice(demo_district, tmp_path)
    settings = HubSettings(home=tmp_path / "home", chunk_rows=1_000,
                           linkage=LinkageSettings(registry_duplicates=False))
    init_keys(settings)
    with PipelineWorker(settings) as worker:
        result = worker.ingest(Path(demo_district.demo.datasets["grid"].source_yaml), extract)
        assert result.outcome == "loaded"
        worker.publish()
    assert _duplicate_findings(settings) == []
