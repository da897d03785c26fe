"""Group commit (AuditLog.append_async): requests of one event loop that append in the same
turn share one transaction, every one of them learns its own seq only once its record is
committed, the chain stays valid, and a failed write refuses all of them and writes none."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hub.audit.errors import AuditWriteFailed, AuditWriterBusy
from hub.audit.group import GroupCommit
from hub.audit.log import AuditLog, VerifyResult
from tests.event_loop import run
from tests.security.conftest import fill


def _record(i: int) -> dict[str, str]:
    return {"action": "resident.search", "outcome": "granted", "actor": f"tok{i % 3}:office",
            "role": "street_office", "scope": "[]", "request_id": f"req-{i}",
            "purpose": "assistance_review", "resident_key": f"rk{i:04d}"}


async def _concurrently(log: AuditLog, first: int, n: int) -> list[int | BaseException]:
    return await asyncio.gather(*(log.append_async(**_record(first + i)) for i in range(n)),
                                return_exceptions=True)


def test_concurrent_appends_share_a_transaction_and_chain(any_audit: AuditLog) -> None:
    fill(any_audit, 3)  # a head written the ordinary way first

    async def two_turns() -> tuple[list[int | BaseException], list[int | BaseException]]:
        first = await _concurrently(any_audit, 0, 20)
        return first, await _concurrently(any_audit, 20, 5)

    first, second = run(two_turns())
    assert first == list(range(4, 24))
    assert second == list(range(24, 29))
    records = {r["seq"]: r for r in any_audit.search(newest_first=False, limit=100)}
    # Each request's own record under its seq; one batch, one transaction, one time.
    assert [records[s]["request_id"] for s in first] == [f"req-{i}" for i in range(20)]
    assert len({records[s]["at"] for s in first}) == 1
    assert records[28]["at"] >= records[4]["at"]
    assert any_audit.verify() == VerifyResult(True, 28, None, None)


def test_a_failed_batch_refuses_every_request_and_writes_nothing(
        audit: AuditLog, state_path: Path) -> None:
    fill(audit, 2)
    con = sqlite3.connect(state_path)
    con.execute("CREATE TRIGGER refuse_inserts BEFORE INSERT ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END")
    con.commit()
    outcomes = run(_concurrently(audit, 0, 6))
    assert all(isinstance(o, AuditWriteFailed) for o in outcomes)
    assert audit.head()[0] == 2
    con.execute("DROP TRIGGER refuse_inserts")
    con.commit()
    con.close()
    assert run(_concurrently(audit, 6, 3)) == [3, 4, 5]
    assert audit.verify() == VerifyResult(True, 5, None, None)


def test_appends_from_several_loops_each_commit(audit: AuditLog) -> None:
    """A process may run more than one loop (tests, a console thread): each has its queue."""
    seqs = [run(_concurrently(audit, 10 * i, 3)) for i in range(3)]
    assert sorted(s for batch in seqs for s in batch if isinstance(s, int)) == list(
        range(1, 10))
    assert audit.verify().ok


def test_append_async_checks_its_fields_before_queueing(audit: AuditLog) -> None:
    async def missing_actor() -> None:
        await audit.append_async(action="resident.search", outcome="granted", actor="",
                                 role="admin")

    with pytest.raises(AuditWriteFailed):
        run(missing_actor())
    assert run(_concurrently(audit, 0, 2)) == [1, 2]  # the queue is not stuck


def test_a_busy_write_lock_does_not_stop_the_loop(audit: AuditLog, state_path: Path) -> None:
    """Another process holds the write lock: the appends wait for it without blocking the
    event loop (other requests go on), then commit, in order and chained."""
    fill(audit, 1)
    other = sqlite3.connect(state_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def while_locked() -> list[int | BaseException]:
        nonlocal ticks

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        running = asyncio.create_task(ticker())
        asyncio.get_running_loop().call_later(0.1, other.execute, "COMMIT")
        appended = await _concurrently(audit, 0, 4)
        running.cancel()
        return appended

    assert run(while_locked()) == [2, 3, 4, 5]
    other.close()
    assert ticks >= 20  # the loop kept turning while the lock was held
    assert audit.verify() == VerifyResult(True, 5, None, None)


def test_a_lock_busy_past_patience_refuses_the_batch() -> None:
    attempts: list[int] = []

    def always_busy(batch: list[list[Any]]) -> list[int]:
        attempts.append(len(batch))
        raise AuditWriterBusy("sqlite:///state.sqlite", "another process held the write lock")

    group = GroupCommit(always_busy, in_thread=False, busy=AuditWriterBusy, patience=0.05)

    async def appends() -> list[int | BaseException]:
        return await asyncio.gather(*(group.append([i]) for i in range(3)),
                                    return_exceptions=True)

    outcomes = run(appends())
    assert all(isinstance(o, AuditWriteFailed) for o in outcomes)
    assert len(attempts) > 3  # tried again while its patience lasted
    assert set(attempts) == {3}
