"""Fixtures of the access-control and evidence-log tests: a real SQLite state store on disk
(`engine`, `audit`, `tokens`), or each database of the state store in turn (`state_engine`,
`any_audit`) for the tests that hold on both."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from catalog.db import create_state_engine
from hub.audit.log import HASHED_FIELDS, AuditLog
from hub.security.tokens import TokenStore
from hub.state.migrate import open_state_store, upgrade_state


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.sqlite"


@pytest.fixture
def engine(state_path: Path) -> Iterator[Engine]:
    engine = create_state_engine(f"sqlite:///{state_path}")
    yield engine
    engine.dispose()


@pytest.fixture
def state_engine(state_url: str) -> Iterator[Engine]:
    engine = open_state_store(state_url)
    yield engine
    engine.dispose()


@pytest.fixture
def any_audit(state_engine: Engine) -> AuditLog:
    return AuditLog(state_engine)


@pytest.fixture
def pepper() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def tokens(engine: Engine, pepper: bytes) -> TokenStore:
    store = TokenStore(engine, pepper)
    upgrade_state(store.engine)
    return store


@pytest.fixture
def audit(engine: Engine) -> AuditLog:
    log = AuditLog(engine)
    upgrade_state(log.engine)
    return log


def fill(log: AuditLog, n: int) -> None:
    """n plausible records: look-ups by two offices, some refused."""
    for i in range(n):
        log.append(action="resident.search", outcome="returned" if i % 3 else
                   "refused:not_found", actor=f"tok{i % 2}:street office {i % 2}",
                   role="street_office", scope=[f"11010500{i % 2}"], request_id=f"req-{i}",
                   purpose="assistance_review", resident_key=f"rk{i:04d}")


def set_field(seq: int, field: str, expr: str) -> str:
    """SQL that rewrites one field inside the stored record text of `seq` (the readable
    columns are generated from it); in `expr`, `old` is the field's current value."""
    i = HASHED_FIELDS.index(field)
    old = f"json_extract(body, '$[{i}]')"
    return (f"UPDATE audit_events SET body = json_set(body, '$[{i}]', "
            f"{expr.replace('old', old)}) WHERE seq = {seq}")


def tamper(path: Path, *statements: str) -> None:
    """Edit the state store as someone holding the file would: guards dropped first."""
    con = sqlite3.connect(path)
    try:
        con.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        con.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
        for sql in statements:
            con.execute(sql)
        con.commit()
    finally:
        con.close()
