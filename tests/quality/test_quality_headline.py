"""The headline score is the score of the data in use; a rejected batch is shown apart, with
why; a batch whose quality step never ran gets it on the worker's next start."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from quality_kit import Loaded

from catalog.db import create_state_engine
from catalog.detail import dataset_list
from catalog.quality_store import QualityStore
from catalog.store import CatalogStore
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings


@pytest.fixture
def home(loaded: Loaded, tmp_path: Path) -> HubSettings:
    shutil.copytree(loaded.settings.home, tmp_path / "home")
    return HubSettings(home=tmp_path / "home", chunk_rows=1_000)


def _broken_extract(loaded: Loaded, path: Path) -> Path:
    """The elderly-care extract with every ID number destroyed: rejected whole."""
    lines = Path(loaded.demo.datasets["elderly_care"].path).read_bytes().splitlines()
    body = [b"bad" + line[line.index(b","):] for line in lines[1:60]]
    path.write_bytes(b"\r\n".join([lines[0], *body]) + b"\r\n")
    return path


def _summary(settings: HubSettings, name: str) -> dict[str, object]:
    engine = create_state_engine(settings.resolved_state_url)
    try:
        return next(d for d in dataset_list(CatalogStore(engine), date.today())
                    if d["name"] == name)
    finally:
        engine.dispose()


def test_a_rejected_batch_leaves_the_score_of_the_data_in_use(
        loaded: Loaded, home: HubSettings, tmp_path: Path) -> None:
    before = _summary(home, "elderly_care")
    assert before["quality_score"] is not None
    with PipelineWorker(home) as worker:
        result = worker.ingest(Path(loaded.demo.datasets["elderly_care"].source_yaml),
                               _broken_extract(loaded, tmp_path / "broken.csv"))
    assert result.outcome == "rejected"
    after = _summary(home, "elderly_care")
    assert after["quality_score"] == before["quality_score"]
    last = after["last_batch"]
    assert isinstance(last, dict)
    assert last["outcome"] == "rejected"
    assert last["reason"]
    assert last["score"] is not None
    report = home.reports_dir / "batches" / f"{result.batch_id}.json"
    body = json.loads(report.read_text(encoding="utf-8"))
    assert body["reason"] == result.reason
    html = report.with_suffix(".html").read_text(encoding="utf-8")
    assert "原因" in html  # the reason, labelled in Chinese and English
    assert "Why" in html
    assert result.reason.split(";")[0] in html
    assert "None" not in html


def test_a_batch_without_its_quality_step_gets_it_on_the_next_start(
        loaded: Loaded, home: HubSettings, tmp_path: Path) -> None:
    extract = Path(loaded.demo.datasets["elderly_care"].path)
    lines = extract.read_bytes().splitlines(keepends=True)
    partial = tmp_path / "elderly_care.csv"
    partial.write_bytes(b"".join(lines[:-3]))  # new content, the same source
    killed = HubSettings(home=home.home, chunk_rows=1_000, quality_checks=False)
    with PipelineWorker(killed) as worker:  # as if killed between commit and quality step
        batch_id = worker.ingest(Path(loaded.demo.datasets["elderly_care"].source_yaml),
                                 partial).batch_id
    engine = create_state_engine(home.resolved_state_url)
    try:
        assert QualityStore(engine).batch_result(batch_id) is None
        with PipelineWorker(home):
            pass
        assert QualityStore(engine).batch_result(batch_id) is not None
    finally:
        engine.dispose()
