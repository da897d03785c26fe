"""The evidence log: appends chain, any single edit/removal/insertion is found and named."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from hub.audit.errors import AuditWriteFailed
from hub.audit.log import GENESIS_HASH, AuditLog, VerifyResult, record_hash
from hub.security.roles import Principal, Role
from tests.security._append_worker import append_many
from tests.security.conftest import fill, tamper

N = 12
POSITIONS = [1, 2, 6, N - 1, N]  # first, second, middle, second to last, last


def test_appends_form_a_valid_chain(audit: AuditLog) -> None:
    assert audit.head() == (0, GENESIS_HASH)
    assert audit.verify() == VerifyResult(True, 0, None, None)
    p = Principal("t1", "office A", Role.STREET_OFFICE, ("110105001",))
    seq = audit.append(principal=p, action="resident.search", purpose="emergency",
                       resident_key="rk", outcome="returned", detail={"status": 200})
    assert seq == 1
    fill(audit, N - 1)
    assert audit.verify() == VerifyResult(True, N, None, None)
    first = audit.search(newest_first=False, limit=1)[0]
    assert first["actor"] == "t1:office A"
    assert first["scope"] == ["110105001"]
    assert first["prev_hash"] == GENESIS_HASH
    assert audit.head()[0] == N


def test_log_refuses_update_and_delete_through_sql(audit: AuditLog, engine: Engine) -> None:
    fill(audit, 2)
    for sql in ("UPDATE audit_events SET outcome = 'returned'", "DELETE FROM audit_events"):
        with pytest.raises(SQLAlchemyError), engine.begin() as conn:
            conn.execute(text(sql))
    assert audit.verify().ok


@pytest.mark.parametrize("seq", POSITIONS)
@pytest.mark.parametrize("column", ["outcome", "resident_key", "purpose", "at", "hash",
                                    "prev_hash"])
def test_edited_record_is_named(audit: AuditLog, state_path: Path, seq: int,
                                column: str) -> None:
    fill(audit, N)
    tamper(state_path, f"UPDATE audit_events SET {column} = 'x' || {column} WHERE seq = {seq}")
    result = audit.verify()
    assert not result.ok
    assert result.first_bad_seq == seq
    assert str(seq) in (result.problem or "")


@pytest.mark.parametrize("seq", POSITIONS[:-1])  # the last one: see the checkpoint tests
def test_removed_record_is_named(audit: AuditLog, state_path: Path, seq: int) -> None:
    fill(audit, N)
    tamper(state_path, f"DELETE FROM audit_events WHERE seq = {seq}")
    result = audit.verify()
    assert (result.ok, result.first_bad_seq) == (False, seq)
    assert "removed" in (result.problem or "")


@pytest.mark.parametrize("seq", [*POSITIONS, N + 1])
def test_inserted_record_is_named(audit: AuditLog, state_path: Path, seq: int) -> None:
    """A forged look-up made from a copy of a real record, slotted in at `seq` (later records
    renumbered so that the seq column has no gap)."""
    fill(audit, N)
    copy_of = 1 if seq > 1 else 2
    tamper(state_path,
           f"UPDATE audit_events SET seq = -seq WHERE seq >= {seq}",
           "UPDATE audit_events SET seq = 1 - seq WHERE seq < 0",
           f"INSERT INTO audit_events SELECT {seq}, at, request_id, 'forger:x', role, scope, "
           f"action, purpose, 'victim', outcome, detail, prev_hash, hash FROM audit_events "
           f"WHERE seq = {copy_of}")
    result = audit.verify()
    assert (result.ok, result.first_bad_seq) == (False, seq)


def test_renumbered_record_is_named(audit: AuditLog, state_path: Path) -> None:
    fill(audit, N)
    tamper(state_path, f"UPDATE audit_events SET seq = 100 WHERE seq = {N}")
    result = audit.verify()
    assert (result.ok, result.first_bad_seq) == (False, N)


def test_well_hashed_record_with_a_skipped_number_is_named(audit: AuditLog,
                                                           state_path: Path) -> None:
    """A forger who knows the hash rule but numbers the record past the head."""
    fill(audit, N)
    seq, head = audit.head()
    values = [seq + 5, "2030-01-01T00:00:00.000000Z", None, "forger:x", "admin", "[]",
              "resident.get", "audit_check", "victim", "returned", None, head]
    con = sqlite3.connect(state_path)
    con.execute(f"INSERT INTO audit_events VALUES ({', '.join('?' * 13)})",
                (*values, record_hash(values)))
    con.commit()
    con.close()
    result = audit.verify()
    assert (result.ok, result.first_bad_seq) == (False, seq + 5)
    assert "inserted" in (result.problem or "")


def test_write_failure_raises_and_writes_nothing(audit: AuditLog, state_path: Path) -> None:
    fill(audit, 1)
    impatient = create_engine(f"sqlite:///{state_path}", connect_args={"timeout": 0.05})
    holder = sqlite3.connect(state_path)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the store
    try:
        with pytest.raises(AuditWriteFailed) as info:
            AuditLog(impatient).append(action="resident.search", outcome="returned",
                                       actor="a", role="admin")
        assert "no data may be returned" in str(info.value)
    finally:
        holder.rollback()
        holder.close()
        impatient.dispose()
    assert audit.verify() == VerifyResult(True, 1, None, None)


def test_missing_actor_is_a_write_failure(audit: AuditLog) -> None:
    with pytest.raises(AuditWriteFailed):
        audit.append(action="resident.search", outcome="returned", actor="", role="admin")


def test_search_filters(audit: AuditLog) -> None:
    fill(audit, 9)
    assert len(audit.search()) == 9
    mine = audit.search(actor="tok1")
    assert mine
    assert all(r["actor"] == "tok1:street office 1" for r in mine)
    refused = audit.search(outcome="refused")
    assert [r["seq"] for r in refused] == [7, 4, 1]
    assert [r["seq"] for r in audit.search(resident_key="rk0003")] == [4]
    assert [r["seq"] for r in audit.search(offset=2, limit=2)] == [7, 6]
    at = audit.search(newest_first=False)[4]["at"]
    assert [r["seq"] for r in audit.search(since=at, newest_first=False)][:1] == [5]
    assert [r["seq"] for r in audit.search(until=at)][-1:] == [1]
    assert audit.search(since="2999-01-01") == []


def test_concurrent_appends_from_two_processes_keep_the_chain(audit: AuditLog,
                                                              state_path: Path) -> None:
    url = f"sqlite:///{state_path}"
    # fork: the children build their own engines; nothing of the parent's pool is used
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        results = pool.starmap(append_many, [(url, 0, 150), (url, 1, 150)])
    seqs = sorted(results[0] + results[1])
    assert seqs == list(range(1, 301))
    assert audit.verify() == VerifyResult(True, 300, None, None)
