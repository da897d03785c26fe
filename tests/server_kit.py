"""A real `hub serve` process on 127.0.0.1 for tests: start, wait until healthy, stop or kill.

The server runs in its own session (process group) so that a test can signal the supervisor,
its API workers and its pipeline worker together, and so that a stuck server is killed whole.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / ".venv" / "bin" / "hub"
# Start-up on a busy 2-core CI machine, several servers starting at once, can take minutes.
STARTUP_SECONDS = 240


@dataclass
class Server:
    base_url: str
    log_path: Path
    process: subprocess.Popen[bytes]
    bodies: list[bytes] = field(default_factory=list)  # every response body, for the scans

    def client(self, token: str | None) -> httpx.Client:
        """A client whose every response body is kept in `bodies`."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}

        def keep(response: httpx.Response) -> None:
            response.read()
            self.bodies.append(response.content)

        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60,
                            event_hooks={"response": [keep]})

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def hub_command() -> list[str]:
    return [str(HUB)] if HUB.exists() else [sys.executable, "-m", "hub"]


def hub_env(home: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any HUB_ setting, then the home and `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_HOME=str(home), PYTHONUNBUFFERED="1", **settings)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(home: Path, log_path: Path, *, workers: int = 2, **settings: str) -> Server:
    """`hub serve` on a free port, not waited for (see `wait_healthy`); `settings` are HUB_*
    environment variables, such as HUB_PIPELINE="false" for the API alone."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*hub_command(), "serve", "--port", str(port), "--workers", str(workers)],
            stdout=log, stderr=subprocess.STDOUT, env=hub_env(home, **settings), cwd=ROOT,
            start_new_session=True)
    return Server(f"http://127.0.0.1:{port}", log_path, process)


def wait_healthy(running: Server, deadline: float) -> None:
    """Until /healthz answers 200; kills the server and fails if it exits or the deadline
    (a time.monotonic() value) passes."""
    while True:
        if running.process.poll() is not None:
            kill_group(running.process)
            raise AssertionError("hub serve exited:\n" + running.log_text()[-3000:])
        try:
            if httpx.get(f"{running.base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            kill_group(running.process)
            raise AssertionError("hub serve did not become healthy:\n" + running.log_text())
        time.sleep(0.2)


def stop(running: Server) -> None:
    """SIGINT as an operator's Ctrl-C; the whole group is killed if it takes over a minute."""
    running.process.send_signal(signal.SIGINT)
    try:
        running.process.wait(60)
    except subprocess.TimeoutExpired:
        kill_group(running.process)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """The server and the worker processes it spawned (its own session, see `start`)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
