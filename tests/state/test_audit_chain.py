"""The evidence log's verify names the first altered or removed record on both databases,
when someone who owns the database gets past the append-only guards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from hub.audit.log import AuditLog, VerifyResult
from hub.state.migrate import open_state_store
from tests.security.conftest import fill


def _as_owner(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        conn.execute(text(sql))


def test_verify_names_the_record_altered_then_removed(engine: Engine) -> None:
    log = AuditLog(engine)
    fill(log, 6)
    assert log.verify() == VerifyResult(True, 6, None, None)
    _as_owner(engine, "UPDATE audit_events SET body = replace(body, 'rk0002', 'rk9999') "
                      "WHERE seq = 3")
    assert log.verify() == VerifyResult(False, 2, 3, "record 3 altered or inserted: its "
                                        "content does not match its hash")
    _as_owner(engine, "DELETE FROM audit_events WHERE seq = 3")
    assert log.verify() == VerifyResult(False, 2, 3, "record 3 missing: removed")
    log.close()


def test_on_postgresql_records_take_the_servers_clock(postgres_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An API host whose clock is an hour behind still appends in time order."""
    import time

    from hub.audit import writer

    engine = open_state_store(postgres_url)
    log = AuditLog(engine)
    fill(log, 2)
    monkeypatch.setattr(writer, "time_ns", lambda: time.time_ns() - 3600 * 10**9)
    fill(log, 2)
    times = [r["at"] for r in log.search(newest_first=False)]
    assert times == sorted(times)
    late = datetime.fromisoformat(times[-1].replace("Z", "+00:00"))
    assert abs(late - datetime.now(UTC)) < timedelta(minutes=1)
    assert log.verify() == VerifyResult(True, 4, None, None)
    engine.dispose()
