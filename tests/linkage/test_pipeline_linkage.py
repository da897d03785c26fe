"""Linkage in the pipeline, on the session's demo district and copies of it: the planted
resident whose elderly-care rows all carry a mistyped ID shows those facts matched, with
their probability; the thresholds send rows to review; a reviewer's decision links or keeps
quarantined; a corrected ID supersedes the match."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import select

from catalog.db import create_state_engine
from hub.cli.demo_linkage import matched_resident
from hub.pipeline.reviews import ReviewAlreadyDecided, ReviewQueue
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings, LinkageSettings
from hub.state.tables import linkage_reviews
from hub.views.read import ViewReader
from tests.conftest import DemoDistrict
from tests.district_kit import warehouse_rows as _query
from tests.privacy_scan import Needles, privacy_hits


def _document(settings: HubSettings, key: str) -> dict[str, Any]:
    engine = create_state_engine(settings.resolved_state_url)
    try:
        doc = ViewReader(engine).resident(key)
    finally:
        engine.dispose()
    assert doc is not None
    return doc


def _facts(doc: dict[str, Any], dataset: str = "elderly_care") -> list[dict[str, Any]]:
    return [f for d in doc["departments"] if d["dataset"] == dataset for f in d["facts"]]


def _matched_key(settings: HubSettings) -> str:
    rows = _query(settings, "SELECT resident_key, count(*) AS n FROM curated.assistance_ledger "
                            "WHERE linked_by = 'match' AND source_dataset = 'elderly_care' "
                            "GROUP BY ALL ORDER BY n DESC, resident_key LIMIT 1")
    assert rows, "no fact linked by match"
    return str(rows[0][0])


def _elderly_rows(demo: Any) -> list[dict[str, str]]:
    text = Path(demo.datasets["elderly_care"].path).read_bytes().decode("gbk")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_mistyped_resident_shows_matched_facts_with_probability(
        demo_district: DemoDistrict) -> None:
    settings = demo_district.settings
    found = matched_resident(settings, demo_district.demo)
    assert found is not None
    raw_id, facts, _ = found
    # The planted truth: every elderly-care row of this resident carries a mistyped ID.
    planted = [r for r in _elderly_rows(demo_district.demo)
               if r["身份证号"][:17] == raw_id[:17] and r["身份证号"] != raw_id]
    assert len(planted) == facts >= 4
    doc = _document(settings, _matched_key(settings))
    matched = [f for f in _facts(doc) if f["linked_by"] == "match"]
    assert len(matched) == facts
    assert all(Decimal(f["match_probability"]) >= Decimal("0.9") and f["linked_on"]
               for f in matched)
    assert all(f["linked_by"] == "id" and f["match_probability"] is None
               for d in doc["departments"] if d["dataset"] != "elderly_care"
               for f in d["facts"])
    for total in doc["totals"]["by_kind"]:  # with and without the matched facts
        kind_matched = [f for f in matched if f["kind"] == total["kind"]]
        assert total["facts"] - total["facts_by_id"] == len(kind_matched)
        assert Decimal(total["amount"]) - Decimal(total["amount_by_id"]) == sum(
            (Decimal(f["amount"] or 0) for f in kind_matched), Decimal(0))
    # The rows stay in the quarantine with their reason.
    reasons = _query(settings, """SELECT DISTINCT i.rule FROM quarantine.row_issues i
        JOIN linkage.decisions d USING (batch_id, source_row)
        WHERE d.resident_key = ? AND i.severity = 'error'""", [_matched_key(settings)])
    assert reasons == [("resident_id:check_character",)]


def test_rows_without_any_id_wait_for_review_with_masked_values_only(
        demo_district: DemoDistrict) -> None:
    settings = demo_district.settings
    engine = create_state_engine(settings.resolved_state_url)
    try:
        items, total = ReviewQueue(engine).list(("elderly_care",))
    finally:
        engine.dispose()
    assert total == len(items) >= 1
    low, high = LinkageSettings().review_floor, LinkageSettings().auto_link
    for item in items:
        assert low <= item["probability"] < high or item["runner_up"] >= low
        fields = {c["field"]: c for c in item["comparison"]}
        assert set(fields) == {"name", "birth", "sex", "address", "phone", "place"}
        assert fields["name"]["level_zh"]
        assert fields["name"]["candidate"].endswith("*")
        assert privacy_hits(str(item).encode(), Needles.of(demo_district.demo)) == []


@pytest.fixture
def strict_home(demo_district: DemoDistrict, tmp_path: Path) -> HubSettings:
    """A copy of the district whose decisions are made again under a stricter auto-link."""
    settings = demo_district.copy_home(
        tmp_path / "home", quality_checks=False,
        linkage=LinkageSettings(auto_link=0.99999, review_floor=0.3))
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("DELETE FROM linkage.decisions")
    con.close()
    engine = create_state_engine(settings.resolved_state_url)
    with engine.begin() as conn:
        conn.execute(linkage_reviews.delete())
    engine.dispose()
    return settings


def test_thresholds_decide_and_a_reviewer_links_or_keeps_quarantined(
        strict_home: HubSettings) -> None:
    with PipelineWorker(strict_home) as worker:
        counts = worker.publish()["linkage"]
    assert counts["review"] >= 2
    assert counts["linked"] < counts["candidates"]
    engine = create_state_engine(strict_home.resolved_state_url)
    queue = ReviewQueue(engine)
    items, _ = queue.list(("elderly_care",), limit=500)
    accept, reject = items[0], items[1]
    queue.decide(accept["review_id"], True, "t1:steward")
    queue.decide(reject["review_id"], False, "t1:steward")
    with pytest.raises(ReviewAlreadyDecided):
        queue.decide(accept["review_id"], False, "t1:steward")
    with PipelineWorker(strict_home) as worker:
        assert worker.publish()["linkage"]["reviews_applied"] == 2
    with engine.connect() as conn:
        applied = conn.execute(select(linkage_reviews.c.applied_at).where(
            linkage_reviews.c.review_id == accept["review_id"])).scalar()
    engine.dispose()
    assert applied is not None
    by_review = _query(strict_home, "SELECT batch_id, source_row FROM linkage.decisions "
                                    "WHERE method = 'review' AND decision = 'linked'")
    assert by_review == [(accept["batch_id"], accept["source_row"])]
    doc = _document(strict_home, accept["resident_key"])
    reviewed = [f for f in _facts(doc, accept["dataset"]) if f["linked_by"] == "review"]
    assert len(reviewed) == 1
    assert reviewed[0]["match_probability"]
    rejected = _query(strict_home, "SELECT decision FROM linkage.decisions WHERE batch_id = ? "
                                   "AND source_row = ?", [reject["batch_id"],
                                                          reject["source_row"]])
    assert rejected == [("rejected",)]
    assert _query(strict_home, "SELECT count(*) FROM curated.assistance_ledger "
                               "WHERE linked_by = 'review'") == [(1,)]


def test_a_corrected_id_supersedes_the_match(demo_district: DemoDistrict,
                                             district_home: HubSettings,
                                             tmp_path: Path) -> None:
    found = matched_resident(district_home, demo_district.demo)
    assert found is not None
    raw_id, facts, _ = found
    rows = _elderly_rows(demo_district.demo)
    fixed = [{**r, "身份证号": raw_id} for r in rows
             if r["身份证号"][:17] == raw_id[:17] and r["身份证号"] != raw_id]
    assert len(fixed) == facts
    delta = tmp_path / "elderly_care_fixed.csv"
    with delta.open("w", encoding="gbk", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(fixed)
    key = _matched_key(district_home)
    with PipelineWorker(district_home) as worker:
        extract = demo_district.demo.datasets["elderly_care"]
        result = worker.ingest(Path(extract.source_yaml), delta, mode="delta")
        assert result.outcome == "loaded"
        assert result.rows_loaded == facts
        worker.publish()
    elderly = _facts(_document(district_home, key))
    assert len(elderly) == facts  # the corrected rows replace the matched ones, not add
    assert {f["linked_by"] for f in elderly} == {"id"}
