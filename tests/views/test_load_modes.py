"""Load modes on the demo district: a 300-row supplementary upload of elderly care as a delta
loses no fact; as a snapshot it is held until a person confirms or discards it, and the ledger
and views after either equal those computed from scratch."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.db import create_state_engine
from hub.ledger.build import LEDGER_TABLE, rebuild_ledger
from hub.pipeline.load_modes import BatchNotHeld
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings, LinkageSettings
from tests.district_kit import DATASETS
from tests.views.conftest import TODAY, Published, all_documents

pytestmark = pytest.mark.slow

SUPPLEMENT_ROWS = 300
_BATCH_ID = re.compile(r"\b([a-z_]+)-\d{8}T\d{12}-[0-9a-f]{8}\b")


def _lines(published: Published) -> tuple[bytes, list[bytes]]:
    data = Path(published.demo.datasets["elderly_care"].path).read_bytes()
    header, *rows = data.split(b"\r\n" if b"\r\n" in data else b"\n")
    return header, [r for r in rows if r]


def _write_subset(published: Published, picks: list[int], path: Path) -> Path:
    header, rows = _lines(published)
    path.write_bytes(b"\r\n".join([header, *(rows[i] for i in sorted(picks))]) + b"\r\n")
    return path


def _source(published: Published) -> Path:
    return Path(published.demo.datasets["elderly_care"].source_yaml)


def _facts(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """Every fact without its batch id (a batch id is when, not what)."""
    return con.execute(f"SELECT * EXCLUDE (batch_id) FROM {LEDGER_TABLE} ORDER BY ALL"
                       ).fetchall()


def _ledger(settings: HubSettings) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return _facts(con)
    finally:
        con.close()


def _facts_per_resident(facts: list[tuple[Any, ...]]) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for fact in facts:
        counts[fact[0]] = counts.get(fact[0], 0) + 1
    return counts


def _documents(settings: HubSettings) -> dict[str, Any]:
    """Published resident views, batch ids reduced to their dataset."""
    engine = create_state_engine(settings.resolved_state_url)
    try:
        text = json.dumps(all_documents(engine), sort_keys=True)
    finally:
        engine.dispose()
    return json.loads(_BATCH_ID.sub(r"\1-batch", text))


def _missed(documents: dict[str, Any]) -> int:
    return sum(1 for d in documents.values() if d.get("missed_benefits"))


@pytest.fixture
def supplement(published: Published, tmp_path: Path) -> Path:
    """300 rows of the current elderly-care extract: what a department sends to add a few
    late entries, sent again whole by mistake or as a change set."""
    _, rows = _lines(published)
    step = len(rows) // SUPPLEMENT_ROWS
    return _write_subset(published, list(range(0, step * SUPPLEMENT_ROWS, step)),
                         tmp_path / "elderly_care_supplement.csv")


def test_supplementary_upload_as_delta_loses_nothing(
        published: Published, own_home: HubSettings, supplement: Path) -> None:
    before_facts, before_docs = _ledger(own_home), _documents(own_home)
    with PipelineWorker(own_home) as worker:
        result = worker.ingest(_source(published), supplement, mode="delta")
        worker.publish(today=TODAY)
    assert result.outcome == "loaded", result.reason
    assert result.load_mode == "delta"
    assert result.replaced["rows_added"] == 0
    assert result.replaced["rows_replaced"] == result.rows_loaded
    assert "delta" in result.replaced["summary"]
    after_facts, after_docs = _ledger(own_home), _documents(own_home)
    assert after_facts == before_facts
    assert _missed(after_docs) == _missed(before_docs)
    print(f"\n300-row supplement as delta: facts {len(before_facts)} -> {len(after_facts)}, "
          f"residents with a missed benefit {_missed(before_docs)} -> {_missed(after_docs)}")


def test_supplementary_upload_as_snapshot_is_held_then_discarded(
        published: Published, own_home: HubSettings, supplement: Path) -> None:
    before_facts, before_docs = _ledger(own_home), _documents(own_home)
    with PipelineWorker(own_home) as worker:
        held = worker.ingest(_source(published), supplement)
        worker.publish(today=TODAY)
        assert held.outcome == "awaiting_confirmation"
        assert held.replaced["rows_dropped"] > 0.2 * held.replaced["rows_current"]
        assert f"hub batches confirm {held.batch_id}" in held.reason
        assert worker.warehouse is not None
        assert _facts(worker.warehouse.con) == before_facts  # held: not in use
        worker.decide_held(held.batch_id, confirm=False, actor="test", today=TODAY)
        with pytest.raises(BatchNotHeld):
            worker.decide_held(held.batch_id, confirm=True, actor="test", today=TODAY)
    assert _ledger(own_home) == before_facts
    assert _documents(own_home) == before_docs
    print(f"\n300-row supplement as snapshot: held ({held.reason})")


def test_a_confirmed_snapshot_equals_loading_it_from_scratch(
        published: Published, own_home: HubSettings, supplement: Path, tmp_path: Path) -> None:
    scratch = HubSettings(home=tmp_path / "scratch", chunk_rows=1_000, quality_checks=False,
                          linkage=LinkageSettings(registry_duplicates=False))
    scratch.home.mkdir()
    shutil.copytree(own_home.keys_dir, scratch.keys_dir)
    with PipelineWorker(scratch) as worker:
        for name in DATASETS:
            extract = published.demo.datasets[name]
            path = supplement if name == "elderly_care" else Path(extract.path)
            result = worker.ingest(Path(extract.source_yaml), path)
            assert result.outcome == "loaded", (name, result.reason)
        worker.load_crosswalk(published.demo.crosswalk)
        worker.publish(today=TODAY)
    with PipelineWorker(own_home) as worker:
        held = worker.ingest(_source(published), supplement)
        assert held.outcome == "awaiting_confirmation"
        decided = worker.decide_held(held.batch_id, confirm=True, actor="test", today=TODAY)
        assert decided["outcome"] == "loaded"
        worker.publish(today=TODAY)
    before = len(_ledger(published.settings))
    after, documents = _ledger(own_home), _documents(own_home)
    assert after == _ledger(scratch)
    assert documents == _documents(scratch)
    print(f"\n300-row supplement confirmed as snapshot: facts {before} -> {len(after)}, "
          f"residents with a missed benefit {_missed(_documents(published.settings))} -> "
          f"{_missed(documents)}")


@pytest.fixture(scope="module")
def delta_home(published: Published, tmp_path_factory: pytest.TempPathFactory) -> HubSettings:
    home = tmp_path_factory.mktemp("delta") / "home"
    shutil.copytree(published.settings.home, home)
    return HubSettings(home=home, chunk_rows=1_000, quality_checks=False,
                       linkage=LinkageSettings(registry_duplicates=False))


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_subset_of_a_snapshot_as_delta_loses_no_fact(
        published: Published, delta_home: HubSettings, tmp_path_factory: pytest.TempPathFactory,
        data: st.DataObject) -> None:
    _, rows = _lines(published)
    picks = data.draw(st.sets(st.integers(0, len(rows) - 1), min_size=1, max_size=400))
    path = _write_subset(published, list(picks), tmp_path_factory.mktemp("subset") / "x.csv")
    before = _ledger(delta_home)
    with PipelineWorker(delta_home) as worker:
        result = worker.ingest(_source(published), path, mode="delta")
        assert worker.warehouse is not None
        rebuild_ledger(worker.warehouse.con)
    assert result.outcome in ("loaded", "rejected", "already_ingested"), result.reason
    after = _ledger(delta_home)
    assert after == before
    per_resident = _facts_per_resident(after)
    assert all(per_resident.get(k, 0) >= n for k, n in _facts_per_resident(before).items())
