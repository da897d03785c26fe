"""Bad input gets a clear error naming the file and the rule, and loses nothing loaded before."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from hub.errors import WarehouseBusy
from hub.keys.config import init_keys
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings


def _counts(settings: HubSettings) -> tuple[int, ...]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return tuple(
            con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
            for t in ("curated.grid", "curated.medical", "vault.identity")
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def grid_loaded(tmp_path_factory: pytest.TempPathFactory, demo: Any) -> HubSettings:
    """The grid registry loaded once; each test gets a copy (`loaded_home`)."""
    made = HubSettings(home=tmp_path_factory.mktemp("grid-loaded") / "home", chunk_rows=1_000,
                       quality_checks=False)
    init_keys(made)
    with PipelineWorker(made) as worker:
        grid = demo.datasets["grid"]
        assert worker.ingest(Path(grid.source_yaml), Path(grid.path)).outcome == "loaded"
    return made


@pytest.fixture
def loaded_home(grid_loaded: HubSettings, tmp_path: Path) -> HubSettings:
    """A home with the grid registry already loaded: later failures must not touch it."""
    shutil.copytree(grid_loaded.home, tmp_path / "loaded-home", symlinks=True)
    return HubSettings(home=tmp_path / "loaded-home", chunk_rows=1_000, quality_checks=False)


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _wrong_columns(path: Path) -> None:
    path.write_text("foo,bar\n1,2\n", encoding="utf-8")


def _png(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 1000)


@pytest.mark.parametrize(("make", "words"), [
    (_garbage, ["grid_registry"]),
    (_empty, ["empty"]),
    (_wrong_columns, ["resident_id", "1.0.0"]),
    (_png, ["grid_registry"]),
])
def test_unreadable_grid_extract_fails_cleanly(loaded_home: HubSettings, demo: Any,
                                               tmp_path: Path, make: Any,
                                               words: list[str]) -> None:
    before = _counts(loaded_home)
    bad = tmp_path / "grid_registry.csv"
    make(bad)
    with PipelineWorker(loaded_home) as worker:
        result = worker.ingest(Path(demo.datasets["grid"].source_yaml), bad)
    assert result.outcome == "failed"
    assert result.reason
    for word in words:
        assert word in result.reason
    assert _counts(loaded_home) == before


def test_truncated_xlsx_fails_cleanly(loaded_home: HubSettings, demo: Any,
                                      tmp_path: Path) -> None:
    medical = Path(demo.datasets["medical"].path)
    cut = tmp_path / "medical_cut.xlsx"
    data = medical.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    before = _counts(loaded_home)
    with PipelineWorker(loaded_home) as worker:
        result = worker.ingest(Path(demo.datasets["medical"].source_yaml), cut)
    assert result.outcome == "failed"
    assert "medical_cut.xlsx" in (result.reason or "")
    assert _counts(loaded_home) == before
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(cut)


def test_batch_over_the_bad_row_threshold_is_rejected_whole(
        loaded_home: HubSettings, demo: Any, tmp_path: Path) -> None:
    source = Path(demo.datasets["grid"].path)
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    broken = []
    for i, line in enumerate(rows):
        if i % 10 == 0:  # 10% of rows get a non-ID in the first column
            line = "NOT-AN-ID" + line[line.index(","):]
        broken.append(line)
    bad = tmp_path / "grid_mostly_bad.csv"
    bad.write_text(header + "".join(broken), encoding="utf-8")
    before = _counts(loaded_home)
    with PipelineWorker(loaded_home) as worker:
        result = worker.ingest(Path(demo.datasets["grid"].source_yaml), bad)
    assert result.outcome == "rejected"
    assert result.rows_loaded == 0
    assert "threshold" in (result.reason or "")
    assert "resident_id" in (result.reason or "")
    assert _counts(loaded_home) == before
    con = duckdb.connect(str(loaded_home.warehouse_path), read_only=True)
    try:
        (issues,) = con.execute("SELECT count(DISTINCT source_row) FROM quarantine.row_issues "
                                "WHERE batch_id = ? AND severity = 'error'",
                                [result.batch_id]).fetchone()  # type: ignore[misc]
    finally:
        con.close()
    assert issues == result.rows_quarantined  # the department still gets its row report


def test_second_writer_is_told_who_holds_the_warehouse(settings: HubSettings) -> None:
    with PipelineWorker(settings), pytest.raises(WarehouseBusy) as raised:
        PipelineWorker(settings).open()
    assert f"pid {os.getpid()}" in str(raised.value)
    assert str(settings.warehouse_path) in str(raised.value)


def test_leftover_staging_of_a_killed_worker_is_cleared(settings: HubSettings) -> None:
    leftover = settings.staging_dir / "grid-20260101T000000-deadbeef"
    leftover.mkdir(parents=True)
    (leftover / "curated-00000.parquet").write_bytes(b"partial")
    with PipelineWorker(settings):
        pass
    assert not leftover.exists()
    shutil.rmtree(settings.staging_dir, ignore_errors=True)
