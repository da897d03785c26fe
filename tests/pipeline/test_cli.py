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

import pytest
from typer.testing import CliRunner, Result

from hub.cli.main import app
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings


def _hub_in_process(settings: HubSettings, *args: str) -> Result:
    env = {"HUB_HOME": str(settings.home), "HUB_QUALITY_CHECKS": "false"}
    return CliRunner().invoke(app, list(args), env=env)


def _hub(settings: HubSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUB_HOME": str(settings.home), "HUB_QUALITY_CHECKS": "false"}
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
