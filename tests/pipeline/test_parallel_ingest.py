"""Chunks prepared in several worker processes load exactly what the batch's own thread
loads, come back in the order they were read, and a worker that dies fails the batch with a
clear error instead of hanging it."""

from __future__ import annotations

import os
import shutil
import signal
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pytest

from hub.errors import IngestWorkerLost
from hub.keys.config import init_keys
from hub.pipeline.chunks import prepared_in_order
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings

pytestmark = pytest.mark.slow

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
def test_processes_load_the_same_rows_and_quarantine_in_order(
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


class _Threads:
    """Prepares chunks on threads, as ChunkProcesses does in processes: to hold one back."""

    def __init__(self, pool: ThreadPoolExecutor, prepare: Any) -> None:
        self.processes = 3
        self._pool, self._prepare = pool, prepare

    def submit(self, raw: Any, number: int) -> Future[Any]:
        return self._pool.submit(self._prepare, raw, number)

    def outcome(self, future: Future[Any]) -> Any:
        return future.result()


def test_chunks_come_back_in_the_order_they_were_read() -> None:
    """The first chunk finishes last, yet it is handed on first."""
    second_done = threading.Event()

    def prepare(raw: Any, number: int) -> Any:
        if raw == 0:
            assert second_done.wait(30)  # held until chunk 1 has finished
        elif raw == 1:
            second_done.set()
        return (raw, number)

    with ThreadPoolExecutor(3) as pool:
        out = list(prepared_in_order(iter(range(6)), prepare,  # type: ignore[arg-type]
                                     _Threads(pool, prepare)))
    assert out == [(n, n) for n in range(6)]


def test_a_worker_process_that_dies_fails_the_batch_and_the_next_batch_runs(
        tmp_path: Path, demo: Any) -> None:
    settings = HubSettings(home=tmp_path / "home", chunk_rows=1_000, quality_checks=False,
                           ingest_workers=2)
    init_keys(settings)
    grid = demo.datasets["grid"]
    with PipelineWorker(settings) as worker:
        processes = worker._processes
        assert processes is not None
        pool = processes._open()
        first = pool.submit(os.getpid)
        victim = first.result(timeout=300)  # a worker process, once it runs
        os.kill(victim, signal.SIGKILL)
        with pytest.raises(IngestWorkerLost) as lost:
            worker.ingest(Path(grid.source_yaml), Path(grid.path))
        assert "HUB_INGEST_WORKERS" in str(lost.value)
        assert not list(settings.staging_dir.iterdir())  # nothing of the batch left staged
        again = worker.ingest(Path(grid.source_yaml), Path(grid.path))
    assert again.outcome == "loaded"
    assert again.rows_loaded > 0


_ORPHAN_SCRIPT = """
import os, secrets, sys, time
from desensitize.keys import KeyRing
from hub.pipeline.chunk_pool import ChunkProcesses
processes = ChunkProcesses(KeyRing(secrets.token_bytes(32), secrets.token_bytes(64)), 2)
pool = processes._open()
print(pool.submit(os.getpid).result(timeout=300), flush=True)
time.sleep(600)
"""


def test_worker_processes_end_when_the_pipeline_worker_is_killed() -> None:
    """They hold the keys: a killed pipeline worker must not leave them running."""
    import subprocess
    import sys
    import time

    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        os.kill(worker, 0)  # running
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    raise AssertionError("an ingest worker process outlived its pipeline worker")
