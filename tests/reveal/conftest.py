"""Reveal and access-report tests: the API tests' demo district, served by two real `hub serve`
processes on its home: one with the default reveal policy, one that lets street offices reveal
and has a low rate limit.

Two servers on one home is also what several API hosts look like: they share the state
store, the audit log and the rate-limit lock file. Both serve the API only (no pipeline
worker: these tests upload nothing), which also halves their start-up time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from catalog.db import create_state_engine
from hub.audit.log import AuditLog, audit_events
from hub.keys.config import load_security_keys
from hub.security.tokens import TokenStore
from tests.api import conftest as api
from tests.api.conftest import HUB, ROOT, STARTUP_SECONDS, District, Server

# The API tests' session fixture, used as it is: the 2,000-resident demo district.
district = api.district
# Starting two servers at once on a busy 2-core machine can take well over a minute.
STARTUP = max(STARTUP_SECONDS, 240)

OPEN_RATE_LIMIT = 3


@pytest.fixture(scope="session")
def engine(district: District) -> Iterator[Engine]:
    engine = create_state_engine(district.settings.resolved_state_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def audit(engine: Engine) -> AuditLog:
    return AuditLog(engine)


class Tokens:
    """Fresh tokens per test: the rate limit and the audit records are counted per actor."""

    def __init__(self, district: District, engine: Engine) -> None:
        self.store = TokenStore(engine, load_security_keys(district.settings).token_pepper)
        self.count = 0

    def new(self, role: str, scope: list[str], label: str) -> tuple[str, str]:
        """(actor as the audit log names it, bearer token)."""
        self.count += 1
        name = f"{label}-{self.count}"
        token_id, token = self.store.create(role, scope, name)
        return f"{token_id}:{name}", token


@pytest.fixture(scope="session")
def tokens(district: District, engine: Engine) -> Tokens:
    return Tokens(district, engine)


def client(base_url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=30)


def records_of(engine: Engine, *, actor: str | None = None, request_id: str | None = None
               ) -> list[dict[str, Any]]:
    t = audit_events
    query = select(t).order_by(t.c.seq)
    if actor is not None:
        query = query.where(t.c.actor == actor)
    if request_id is not None:
        query = query.where(t.c.request_id == request_id)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def start(district: District, log_path: Path, **settings: str) -> Server:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_HOME=str(district.settings.home), HUB_PIPELINE="false",
               PYTHONUNBUFFERED="1", **settings)
    port = api._free_port()
    command = [str(HUB)] if HUB.exists() else [sys.executable, "-m", "hub"]
    with log_path.open("wb") as log:
        process = subprocess.Popen([*command, "serve", "--port", str(port), "--workers", "2"],
                                   stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                   start_new_session=True)
    return Server(f"http://127.0.0.1:{port}", log_path, process)


def wait_healthy(running: Server, deadline: float) -> None:
    while True:
        if running.process.poll() is not None:
            raise AssertionError("hub serve exited:\n" + running.log_text()[-3000:])
        try:
            if httpx.get(f"{running.base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("hub serve did not become healthy:\n" + running.log_text())
        time.sleep(0.3)


def stop(running: Server) -> None:
    running.process.send_signal(signal.SIGINT)
    try:
        running.process.wait(60)
    except subprocess.TimeoutExpired:
        api._kill_group(running.process)


@pytest.fixture(scope="session")
def servers(district: District, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Server, Server]]:
    """Both servers, started together (their start-ups overlap)."""
    default = start(district, tmp_path_factory.mktemp("server") / "serve.log")
    permissive = start(district, tmp_path_factory.mktemp("open-server") / "serve.log",
                       HUB_REVEAL_STREET_OFFICE="true",
                       HUB_REVEAL_RATE_LIMIT=str(OPEN_RATE_LIMIT))
    try:
        deadline = time.monotonic() + STARTUP
        wait_healthy(default, deadline)
        wait_healthy(permissive, deadline)
    except AssertionError:
        for running in (default, permissive):
            api._kill_group(running.process)
        raise
    yield default, permissive
    for running in (default, permissive):
        stop(running)


@pytest.fixture(scope="session")
def server(servers: tuple[Server, Server]) -> Server:
    """The default policy: street offices may not reveal; 10 reveals per token per hour."""
    return servers[0]


@pytest.fixture(scope="session")
def open_server(servers: tuple[Server, Server]) -> Server:
    """Street offices may reveal their own residents; 3 reveals per token per hour."""
    return servers[1]
