"""A real ingest process killed at random moments leaves the whole batch or none of it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hub.pipeline.worker import PipelineWorker, open_catalog
from hub.settings import HubSettings

pytestmark = pytest.mark.slow


def _start_ingest(settings: HubSettings, source: Path, extract: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HUB_HOME": str(settings.home), "HUB_CHUNK_ROWS": "1000",
           "HUB_QUALITY_CHECKS": "false",
           "HUB_LINKAGE_REGISTRY_DUPLICATES": "false"}
    return subprocess.Popen([sys.executable, "-m", "hub", "ingest", str(source), str(extract)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _check_consistent(settings: HubSettings) -> dict[str, int]:
    """Every batch in the manifest is whole; nothing exists outside the manifest."""
    with PipelineWorker(settings) as worker:  # reopening replays or discards the WAL
        assert worker.warehouse is not None
        con = worker.warehouse.con
        manifest = {b["batch_id"]: b for b in worker.warehouse.batches()}
        for table in ("curated.grid", "quarantine.row_issues", "vault.identity"):
            orphans = con.execute(
                f"SELECT count(*) FROM {table} WHERE batch_id NOT IN "
                "(SELECT batch_id FROM meta.batches)").fetchone()[0]  # type: ignore[index]
            assert orphans == 0, table
        per_batch = dict(con.execute(
            "SELECT batch_id, count(*) FROM curated.grid GROUP BY batch_id").fetchall())
        for batch_id, batch in manifest.items():
            assert per_batch.get(batch_id, 0) == batch["rows_loaded"], batch_id
    catalog_ids = {b["batch_id"] for b in open_catalog(settings).list_batches(limit=1000)}
    assert catalog_ids == set(manifest)
    return {k: v["rows_loaded"] for k, v in manifest.items()}


def test_killed_ingest_leaves_whole_batch_or_nothing(settings: HubSettings, demo: Any) -> None:
    grid = demo.datasets["grid"]
    source, extract = Path(grid.source_yaml), Path(grid.path)
    with PipelineWorker(settings):  # create keys and tables once, outside the timing
        pass
    started = time.perf_counter()
    full = _start_ingest(settings, source, extract)
    assert full.wait(timeout=300) == 0, full.stderr.read() if full.stderr else ""
    duration = time.perf_counter() - started
    loaded = _check_consistent(settings)
    assert len(loaded) == 1

    # Another copy of the content is new content only if its bytes differ: the same rows,
    # reordered, a new order each time a copy is loaded.
    lines = extract.read_bytes().splitlines(keepends=True)

    def variant(number: int) -> Path:
        body = lines[1:]
        path = settings.home.parent / f"grid_variant_{number}.csv"
        path.write_bytes(lines[0] + b"".join(reversed(body[number:] + body[:number])))
        return path

    rng = random.Random(20261122)
    outcomes = []
    copies = 1  # batches loaded
    pending = variant(copies)
    for _ in range(4):
        proc = _start_ingest(settings, source, pending)
        # The first part of a run is the interpreter importing the hub, where a kill tests
        # nothing: the moments are drawn from the rest, and a little past its end.
        moment, begun = rng.uniform(0.4 * duration, duration * 1.1), time.perf_counter()
        while proc.poll() is None and time.perf_counter() - begun < moment:
            time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            outcomes.append("killed")
        else:  # faster than the first run (a busier machine then): moments follow this pace
            outcomes.append("finished")
            duration = time.perf_counter() - begun
        proc.wait(timeout=60)
        batches = _check_consistent(settings)
        assert len(batches) in (copies, copies + 1)  # the copy whole, or nothing of it
        if len(batches) == copies + 1:  # loaded (or committed just before the kill)
            copies += 1
            pending = variant(copies)
    assert "killed" in outcomes

    final = _start_ingest(settings, source, pending)
    assert final.wait(timeout=300) == 0
    batches = _check_consistent(settings)
    assert len(batches) == copies + 1  # every copy exactly once
    assert len(set(batches.values())) == 1  # same rows, just reordered
