"""The `hub` command as an operator runs it: exit codes, JSON output, batch listing.

The exit codes and output are the typer app's, run in this process (a process start per
command costs seconds of imports and tells nothing more); the writer-lock refusal needs a
second process, and shows the exit code reaching the shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner, Result

from catalog.db import create_state_engine
from hub.cli.main import app
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings
from hub.views.read import ViewReader


def _hub_in_process(settings: HubSettings, *args: str | Path) -> Result:
    env = {"HUB_HOME": str(settings.home), "HUB_QUALITY_CHECKS": "false",
           "HUB_LINKAGE_REGISTRY_DUPLICATES": "false"}
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def _hub(settings: HubSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUB_HOME": str(settings.home), "HUB_QUALITY_CHECKS": "false",
           "HUB_LINKAGE_REGISTRY_DUPLICATES": "false"}
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.slow
def test_ingest_exit_codes_and_json(settings: HubSettings, demo: Any, tmp_path: Path) -> None:
    grid = demo.datasets["grid"]
    first = _hub_in_process(settings, "ingest", str(grid.source_yaml), str(grid.path), "--json")
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert body["outcome"] == "loaded"
    assert body["rows_read"] == grid.rows

    again = _hub_in_process(settings, "ingest", str(grid.source_yaml), str(grid.path), "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["outcome"] == "already_ingested"

    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 100)
    bad = _hub_in_process(settings, "ingest", str(grid.source_yaml), str(garbage))
    assert bad.exit_code == 2
    assert "garbage.csv" in bad.output
    assert isinstance(bad.exception, SystemExit)  # no traceback: a clean refusal

    missing = _hub_in_process(settings, "ingest", str(grid.source_yaml),
                              str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2
    assert "nope.csv" in missing.output

    listing = _hub_in_process(settings, "batches", "--json")
    assert listing.exit_code == 0
    outcomes = sorted(b["outcome"] for b in json.loads(listing.stdout))
    assert outcomes == ["failed", "failed", "loaded"]


@pytest.mark.slow
def test_ingest_while_a_worker_runs_exits_busy(settings: HubSettings, demo: Any) -> None:
    grid = demo.datasets["grid"]
    with PipelineWorker(settings):
        busy = _hub(settings, "ingest", grid.source_yaml, grid.path)
    assert busy.returncode == 3
    assert f"pid {os.getpid()}" in busy.stderr


@pytest.mark.slow
def test_publish_makes_ingested_batches_readable(settings: HubSettings, demo: Any) -> None:
    grid = demo.datasets["grid"]
    with PipelineWorker(settings) as worker:
        assert worker.ingest(Path(grid.source_yaml), Path(grid.path)).outcome == "loaded"
    assert not settings.vault_store_path.exists()  # an ingest alone publishes nothing

    published = _hub_in_process(settings, "publish", "--json")
    assert published.exit_code == 0, published.stderr
    summary = json.loads(published.stdout)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True,
                         config={"autoinstall_known_extensions": False})
    try:
        keys = [r[0] for r in con.execute(
            "SELECT DISTINCT resident_key FROM curated.grid WHERE resident_key IS NOT NULL "
            "ORDER BY 1").fetchall()]
    finally:
        con.close()
    assert summary["residents"] == len(keys)
    assert settings.vault_store_path.exists()  # what reveal and the access report read
    engine = create_state_engine(settings.resolved_state_url)
    try:
        assert ViewReader(engine).resident(keys[0]) is not None
    finally:
        engine.dispose()

    again = _hub_in_process(settings, "publish")
    assert again.exit_code == 0, again.stderr
    assert f"generation {summary['generation'] + 1}" in again.stdout


def test_a_partial_snapshot_is_held_until_confirmed_or_discarded(
        settings: HubSettings, demo: Any, tmp_path: Path) -> None:
    grid = demo.datasets["grid"]  # in this process: the exit codes have their own test
    assert _hub_in_process(settings, "ingest", grid.source_yaml, grid.path).exit_code == 0
    lines = Path(grid.path).read_bytes().splitlines(keepends=True)
    partial = tmp_path / "grid_partial.csv"
    partial.write_bytes(b"".join(lines[:301]))  # 300 residents of the registry
    held = _hub_in_process(settings, "ingest", grid.source_yaml, str(partial), "--json")
    assert held.exit_code == 0, held.stderr
    body = json.loads(held.stdout)
    assert body["outcome"] == "awaiting_confirmation"
    assert body["load_mode"] == "snapshot"
    assert f"hub batches confirm {body['batch_id']}" in body["reason"]
    refused = _hub_in_process(settings, "batches", "confirm", "no-such-batch")
    assert refused.exit_code == 2
    assert "not awaiting confirmation" in refused.stderr
    # The lock, keys and publish of `hub batches discard` need the whole district: the grid
    # alone cannot publish views, so the worker decides here without publishing.
    with PipelineWorker(settings) as worker:
        decided = worker.decide_held(body["batch_id"], False, "test", publish=False)
    assert decided["outcome"] == "discarded"
    listing = json.loads(_hub_in_process(settings, "batches", "--json").stdout)
    assert {b["batch_id"]: b["outcome"] for b in listing}[body["batch_id"]] == "discarded"
    as_delta = _hub_in_process(settings, "ingest", grid.source_yaml, partial, "--mode",
                               "delta", "--json")
    assert as_delta.exit_code == 0, as_delta.stderr
    delta = json.loads(as_delta.stdout)
    assert delta["outcome"] == "loaded"
    assert delta["replaced"]["rows_replaced"] == delta["rows_loaded"] > 250
    assert "delta" in delta["replaced"]["summary"]
