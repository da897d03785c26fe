"""The evidence log: appends chain (from several processes too), failures write nothing,
the stored text is what is hashed and what search shows. Tampering: test_audit_tamper.py."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from catalog.db import create_state_engine
from hub.audit.errors import AuditConfigInvalid, AuditWriteFailed
from hub.audit.log import GENESIS_HASH, AuditLog, VerifyResult, encode_record
from hub.security.roles import Principal, Role
from hub.settings import HubSettings
from hub.state.migrate import upgrade_state
from tests.security._append_worker import append_many
from tests.security.conftest import fill

N = 12


def test_appends_form_a_valid_chain(any_audit: AuditLog) -> None:
    assert any_audit.head() == (0, GENESIS_HASH)
    assert any_audit.verify() == VerifyResult(True, 0, None, None)
    p = Principal("t1", "office A", Role.STREET_OFFICE, ("110105001",))
    seq = any_audit.append(principal=p, action="resident.search", purpose="emergency",
                           resident_key="rk", outcome="returned", detail={"status": 200})
    assert seq == 1
    fill(any_audit, N - 1)
    assert any_audit.verify() == VerifyResult(True, N, None, None)
    first = any_audit.search(newest_first=False, limit=1)[0]
    assert first["actor"] == "t1:office A"
    assert first["scope"] == ["110105001"]
    assert first["detail"] == '{"status":200}'
    assert first["prev_hash"] == GENESIS_HASH
    assert any_audit.head()[0] == N


def test_stored_text_is_what_is_hashed(audit: AuditLog, state_path: Path) -> None:
    """An auditor can check a record with nothing but sha256 and a JSON reader."""
    fill(audit, 3)
    con = sqlite3.connect(state_path)
    rows = con.execute("SELECT seq, body, hash, actor, prev_hash FROM audit_events "
                       "ORDER BY seq").fetchall()
    con.close()
    prev = GENESIS_HASH
    for seq, body, stored, actor, prev_hash in rows:
        assert hashlib.sha256(body.encode()).hexdigest() == stored
        values = json.loads(body)
        assert (values[0], values[3], values[-1]) == (seq, actor, prev)
        assert prev_hash == prev
        prev = stored


def test_append_many_is_one_chain_segment(any_audit: AuditLog) -> None:
    fill(any_audit, 2)
    seqs = any_audit.append_many([{"action": "resident.search", "outcome": "returned",
                                   "actor": "a", "role": "admin", "resident_key": f"rk{i}"}
                                  for i in range(4)])
    assert seqs == [3, 4, 5, 6]
    assert any_audit.append_many([]) == []
    assert any_audit.verify() == VerifyResult(True, 6, None, None)
    with pytest.raises(AuditWriteFailed):  # one bad record: none of the batch is written
        any_audit.append_many([
            {"action": "a", "outcome": "o", "actor": "a", "role": "admin"},
            {"action": "a", "outcome": "o", "actor": "", "role": "admin"}])
    assert any_audit.head()[0] == 6


def test_log_refuses_update_and_delete_through_sql(any_audit: AuditLog,
                                                   state_engine: Engine) -> None:
    fill(any_audit, 2)
    statements = ["UPDATE audit_events SET hash = 'x'", "DELETE FROM audit_events"]
    if state_engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_events")
    for sql in statements:
        with pytest.raises(SQLAlchemyError), state_engine.begin() as conn:
            conn.execute(text(sql))
    assert any_audit.verify() == VerifyResult(True, 2, None, None)


def test_write_failure_raises_and_writes_nothing(audit: AuditLog, state_path: Path) -> None:
    fill(audit, 1)
    impatient = create_engine(f"sqlite:///{state_path}", connect_args={"timeout": 0.05})
    log = AuditLog(impatient, patience=0.05)
    holder = sqlite3.connect(state_path)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the store
    try:
        for _ in range(2):  # the second try reopens its connection after the first failed
            with pytest.raises(AuditWriteFailed) as info:
                log.append(action="resident.search", outcome="returned", actor="a",
                           role="admin")
            assert "no data may be returned" in str(info.value)
    finally:
        holder.rollback()
        holder.close()
    assert log.append(action="resident.search", outcome="returned", actor="a",
                      role="admin") == 2  # the store is free again: appends resume
    log.close()
    impatient.dispose()
    assert audit.verify() == VerifyResult(True, 2, None, None)


def test_missing_actor_is_a_write_failure(any_audit: AuditLog) -> None:
    with pytest.raises(AuditWriteFailed):
        any_audit.append(action="resident.search", outcome="returned", actor="", role="admin")


@pytest.mark.parametrize("mode", ["full", "normal"])
def test_durability_setting(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                            mode: str) -> None:
    monkeypatch.setenv("HUB_AUDIT_SYNCHRONOUS", mode.upper())
    log = AuditLog(engine, synchronous=HubSettings().audit.synchronous)
    upgrade_state(log.engine)
    assert log.synchronous == mode
    fill(log, 2)
    assert log.verify().ok
    monkeypatch.setenv("HUB_AUDIT_SYNCHRONOUS", "sometimes")
    with pytest.raises(ValidationError, match="HUB_AUDIT_SYNCHRONOUS"):
        HubSettings()
    with pytest.raises(AuditConfigInvalid, match="HUB_AUDIT_SYNCHRONOUS"):
        AuditLog(engine, synchronous="sometimes")


OLD_DDL = ("CREATE TABLE audit_events (seq INTEGER PRIMARY KEY, at VARCHAR(32) NOT NULL, "
           "request_id VARCHAR(64), actor VARCHAR(160) NOT NULL, role VARCHAR(32) NOT NULL, "
           "scope TEXT NOT NULL, action VARCHAR(64) NOT NULL, purpose VARCHAR(32), "
           "resident_key VARCHAR(128), outcome VARCHAR(64) NOT NULL, detail TEXT, "
           "prev_hash VARCHAR(64) NOT NULL, hash VARCHAR(64) NOT NULL)")


def test_log_in_the_retired_layout_moves_over_with_its_hashes(state_path: Path,
                                                              tmp_path: Path) -> None:
    """Thirteen stored columns, as before `body`: migration 0001 moves the records, every hash
    and so every signed checkpoint stays valid, and an old edit is still caught."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hub.audit.checkpoint import verify_checkpoint, write_checkpoint

    state_path.parent.mkdir(parents=True)
    con = sqlite3.connect(state_path)
    con.execute(OLD_DDL)
    con.execute("CREATE INDEX ix_audit_events_actor ON audit_events (actor)")
    con.execute("CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'append-only'); END")
    prev = GENESIS_HASH
    for seq in range(1, 7):
        values = [seq, f"2026-01-0{seq}T00:00:00.000000Z", None, "t:office", "street_office",
                  '["110105001"]', "resident.get", "emergency", f"rk{seq}", "returned",
                  None, prev]
        prev = hashlib.sha256(json.dumps(values, ensure_ascii=False, separators=(",", ":"))
                              .encode()).hexdigest()  # the old rule, written out
        con.execute(f"INSERT INTO audit_events VALUES ({', '.join('?' * 13)})",
                    (*values, prev))
    con.commit()
    engine = create_state_engine(f"sqlite:///{state_path}")
    key = Ed25519PrivateKey.generate()
    write_checkpoint(AuditLog(engine), key, tmp_path / "cp.json")  # signed before the move
    con.execute("UPDATE audit_events SET outcome = 'refused:forbidden' WHERE seq = 4")
    con.commit()
    con.close()

    log = AuditLog(engine)
    upgrade_state(log.engine)
    upgrade_state(log.engine)  # a second process starting later: nothing left to do
    assert log.verify() == VerifyResult(False, 3, 4, "record 4 altered or inserted: its "
                                        "content does not match its hash")
    assert verify_checkpoint(log, key.public_key(), tmp_path / "cp.json").ok
    assert [r["resident_key"] for r in log.search(actor="t", newest_first=False)] == [
        f"rk{i}" for i in range(1, 7)]
    assert log.append(action="a", outcome="o", actor="a", role="admin") == 7
    with pytest.raises(SQLAlchemyError), engine.begin() as conn:  # guards are back
        conn.execute(text("DELETE FROM audit_events"))
    log.close()
    engine.dispose()


def test_search_filters(any_audit: AuditLog) -> None:
    fill(any_audit, 9)
    assert len(any_audit.search()) == 9
    mine = any_audit.search(actor="tok1")
    assert mine
    assert all(r["actor"] == "tok1:street office 1" for r in mine)
    refused = any_audit.search(outcome="refused")
    assert [r["seq"] for r in refused] == [7, 4, 1]
    assert [r["seq"] for r in any_audit.search(resident_key="rk0003")] == [4]
    assert [r["seq"] for r in any_audit.search(offset=2, limit=2)] == [7, 6]
    at = any_audit.search(newest_first=False)[4]["at"]
    assert [r["seq"] for r in any_audit.search(since=at, newest_first=False)][:1] == [5]
    assert [r["seq"] for r in any_audit.search(until=at)][-1:] == [1]
    assert any_audit.search(since="2999-01-01") == []


def test_concurrent_appends_from_four_processes_keep_the_chain(any_audit: AuditLog,
                                                               state_url: str) -> None:
    url = state_url
    audit = any_audit
    fill(audit, 1)  # the parent's writer exists before the children start
    # spawn: the children build their own engines and inherit none of this process's
    # objects; a child that dies makes the executor raise instead of waiting forever
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(4, mp_context=ctx) as pool:
        results = list(pool.map(append_many, [url] * 4, range(4), [60] * 4))
    seqs = sorted(s for r in results for s in r)
    assert seqs == list(range(2, 2 + 4 * 63))
    for r in results:  # each batch of three got consecutive numbers
        assert r[-3:] == list(range(r[-3], r[-3] + 3))
    assert audit.verify() == VerifyResult(True, 1 + 4 * 63, None, None)
    assert audit.append(action="a", outcome="o", actor="parent", role="admin") == 254


def test_record_text_is_the_canonical_json() -> None:
    """The field-by-field encoder writes exactly what the JSON encoder would."""
    from enum import StrEnum

    from hub.audit.schema import _dumps, encode_body, encode_list

    class Kind(StrEnum):
        A = "a\u00e9"

    tricky = ['q"uote\\slash', "\x00\x1f\n\t\x7f", "\u2028\u00e9\U0001d11e", "\ud800", "",
              Kind.A, 2**70, -1, 0, True, None, 1.5, ["x"], {"k": "v"}]
    for i in range(len(tricky)):
        values = tricky[i:] + tricky[:i]
        assert encode_record(values) == _dumps(tuple(values))
    strings = [v for v in tricky if isinstance(v, str)]
    assert encode_list(strings) == _dumps(strings)
    # The appends' encoder quotes field by field: the same text, whatever the fields hold.
    for i in range(len(tricky)):
        fields = (tricky[i:] + tricky[:i])[:9]
        expected = _dumps((7, "2026-01-01T00:00:00.000001Z", *fields, "0" * 64))
        assert encode_body(7, "2026-01-01T00:00:00.000001Z", fields, "0" * 64) == expected
    for i in range(len(strings)):
        fields = [None, *(strings[i:] + strings[:i])][:9]
        assert encode_body(2**40, strings[i], fields, strings[-i]) == _dumps(
            (2**40, strings[i], *fields, strings[-i]))


def test_time_never_goes_backwards_along_the_chain(audit: AuditLog,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A clock stepping back a little: records keep their predecessor's time, so a time
    range is still a seq range for search."""
    import time

    from hub.audit import writer

    offset = [0]
    monkeypatch.setattr(writer, "time_ns", lambda: time.time_ns() + offset[0] * 1000)
    fill(audit, 3)
    offset[0] = -30_000_000  # NTP stepped the clock back by 30 s
    fill(audit, 2)
    offset[0] = 5_000_000
    fill(audit, 1)
    times = [r["at"] for r in audit.search(newest_first=False)]
    assert times == sorted(times)
    assert times[3] == times[2]  # took its predecessor's time
    assert [r["seq"] for r in audit.search(since=times[5], newest_first=False)] == [6]
    assert [r["seq"] for r in audit.search(until=times[5], newest_first=False)] == [1, 2, 3,
                                                                                    4, 5]
