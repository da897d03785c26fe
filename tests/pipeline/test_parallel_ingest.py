"""Chunks prepared on several threads load exactly what one thread loads, and come out of the
threads in the order they were read."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

from hub.keys.config import init_keys
from hub.pipeline.chunks import prepared_in_order
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings

DATASETS = ["grid", "elderly_care"]
# Per-run values: the batch id carries the time of the run.
PER_RUN = {"batch_id"}


def _tables(settings: HubSettings) -> dict[str, list[tuple[Any, ...]]]:
    """Every curated, quarantine and vault row (sorted: the warehouse keeps no row order),
    without the batch id."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        out = {}
        for table in [f"curated.{d}" for d in DATASETS] + ["quarantine.row_issues",
                                                           "vault.identity"]:
            columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()
                       if r[0] not in PER_RUN]
            out[table] = con.execute(
                f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


def _ingest(home: Path, demo: Any, workers: int, keys_from: HubSettings | None = None
            ) -> tuple[dict[str, Any], HubSettings]:
    settings = HubSettings(home=home, chunk_rows=1_000, quality_checks=False,
                           ingest_workers=workers)
    if keys_from is not None:  # the same keys, so that pseudonyms and vault entries match
        shutil.copytree(keys_from.home / "keys", home / "keys")
    init_keys(settings)
    with PipelineWorker(settings) as worker:
        results = {name: worker.ingest(Path(demo.datasets[name].source_yaml),
                                       Path(demo.datasets[name].path)).as_dict()
                   for name in DATASETS}
    return results, settings


@pytest.mark.parametrize("workers", [3])
def test_threads_load_the_same_rows_and_quarantine_in_order(
        tmp_path: Path, demo: Any, workers: int) -> None:
    serial, one = _ingest(tmp_path / "one", demo, 1)
    parallel, many = _ingest(tmp_path / "many", demo, workers, keys_from=one)
    assert all(demo.datasets[d].rows > 1_000 for d in DATASETS)  # several chunks each
    for name in DATASETS:
        for key in ("outcome", "rows_read", "rows_loaded", "rows_quarantined", "findings",
                    "rows_withdrawn"):
            assert serial[name][key] == parallel[name][key], (name, key)
    expected, found = _tables(one), _tables(many)
    assert all(expected.values())
    for table, rows in expected.items():
        assert found[table] == rows, table


def test_chunks_leave_the_threads_in_the_order_they_were_read() -> None:
    """The first chunk finishes last, yet it is handed on first."""
    second_done = threading.Event()

    def prepare(raw: Any, deidentifier: Any) -> Any:
        if raw == 0:
            assert second_done.wait(30)  # held until chunk 1 has finished
        elif raw == 1:
            second_done.set()
        return (raw, deidentifier)

    out = list(prepared_in_order(iter(range(6)), prepare, ["d1", "d2", "d3"]))  # type: ignore[arg-type]
    assert [raw for raw, _ in out] == list(range(6))
    assert {d for _, d in out} <= {"d1", "d2", "d3"}
