"""`hub serve` stops when its whole process group gets SIGTERM (as a service manager or
`docker stop` sends it): API workers, supervisor and pipeline worker, within a bound.

It used to hang: the pipeline worker's SIGTERM handler called `Event.set()` while the same
thread slept in `Event.wait()`, which deadlocks, and the parent then blocked for ever on the
same event. The bound below is the behaviour asked of a stop (well under the 60 s the parent
grants a busy pipeline worker), not a speed figure.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from hub.settings import HubSettings
from tests import server_kit

SHUTDOWN_BOUND_SECONDS = 45


def _live_members(session: int) -> list[int]:
    """Processes of the session that are still running (zombies do not count)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


@pytest.mark.slow
def test_sigterm_to_the_process_group_stops_everything(settings: HubSettings,
                                                       tmp_path: Path) -> None:
    workers = 2  # the multi-worker supervisor is the path that hung
    log_path = tmp_path / "serve.log"
    running = server_kit.start(settings.home, log_path, workers=workers,
                               HUB_QUALITY_CHECKS="false")
    server = running.process
    try:
        server_kit.wait_healthy(running, time.monotonic() + server_kit.STARTUP_SECONDS)
        members = _live_members(server.pid)
        assert len(members) >= workers + 2  # supervisor, API workers, pipeline worker

        os.killpg(server.pid, signal.SIGTERM)
        try:
            code = server.wait(SHUTDOWN_BOUND_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail("hub serve did not stop on SIGTERM to its process group:\n"
                        + log_path.read_text(errors="replace")[-3000:])
        assert code == 0
        deadline = time.monotonic() + 10  # children are reaped just after the parent ends
        while _live_members(server.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _live_members(server.pid) == []
        assert "pipeline worker stopped" in log_path.read_text(errors="replace")
    finally:
        if server.poll() is None or _live_members(server.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
