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

    # A second copy of the content under another name is new content only if bytes differ:
    # append one valid row's worth of difference by re-ordering the lines.
    lines = extract.read_bytes().splitlines(keepends=True)
    variant = settings.home.parent / "grid_variant.csv"
    variant.write_bytes(lines[0] + b"".join(reversed(lines[1:])))

    rng = random.Random(20261122)
    outcomes = []
    for _ in range(4):
        proc = _start_ingest(settings, source, variant)
        # The first part of a run is the interpreter importing the hub, where a kill tests
        # nothing: the moments are drawn from the rest, and a little past its end.
        time.sleep(rng.uniform(0.4 * duration, duration * 1.1))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            outcomes.append("killed")
        else:
            outcomes.append("finished")
        proc.wait(timeout=60)
        batches = _check_consistent(settings)
        assert len(batches) in (1, 2)
    assert "killed" in outcomes

    final = _start_ingest(settings, source, variant)
    assert final.wait(timeout=300) == 0
    batches = _check_consistent(settings)
    assert len(batches) == 2  # the original and the variant, each exactly once
    assert len(set(batches.values())) == 1  # same rows, just reordered
