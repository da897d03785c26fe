"""Reveal and access-report tests: the API tests' demo district (the served home), served by
two real `hub serve` processes: the shared one with the default reveal policy, and one that
lets street offices reveal and has a low rate limit.

Two servers on one home is also what several API hosts look like: they share the state
store, the audit log and the rate-limit lock file. The second serves the API only (no
pipeline worker: these tests upload nothing), which also shortens its start-up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from catalog.db import create_state_engine
from hub.audit.log import AuditLog, audit_events
from hub.keys.config import load_security_keys
from hub.security.tokens import TokenStore
from tests import server_kit
from tests.api import conftest as api
from tests.api.conftest import District
from tests.server_kit import Server

# The API tests' session fixtures, used as they are: the served district and its server.
district = api.district
server = api.server

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


@pytest.fixture(scope="session")
def open_server(district: District, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Server]:
    """Street offices may reveal their own residents; 3 reveals per token per hour.
    (`server`, the shared one, has the default policy: street offices may not reveal; 10
    reveals per token per hour.)"""
    running = server_kit.start(district.settings.home,
                               tmp_path_factory.mktemp("open-server") / "serve.log",
                               HUB_PIPELINE="false", HUB_REVEAL_STREET_OFFICE="true",
                               HUB_REVEAL_RATE_LIMIT=str(OPEN_RATE_LIMIT))
    server_kit.wait_healthy(running, time.monotonic() + server_kit.STARTUP_SECONDS)
    yield running
    server_kit.stop(running)
