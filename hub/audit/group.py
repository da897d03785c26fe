"""Group commit of the audit appends of one event loop: requests that reach their append in
the same turn of the loop share one transaction.

A request hands its record over and waits; the first one of a turn schedules a flush for the
loop's next turn, which writes every record handed over until then in one transaction
(AuditLog's writer: all of them or none) and only then wakes each request with its seq, or
with the error that stopped the write. So every record is committed before its request
answers, as with one append per request, and a failure refuses every request of the batch
(no record, no data); what changes is one commit per batch instead of one per request.

On SQLite the flush runs on the loop: a local write costs less than a hop to a thread.
While another process holds the write lock the flush does not wait in SQLite's busy
handler (which sleeps, and would stop the loop): it tries again shortly, and the loop
serves other requests meanwhile.

On a networked store (PostgreSQL) the flush runs in a thread so that the loop keeps serving
while the transaction takes its round trips; appends that arrive meanwhile wait for the
next flush, which starts when this one ends (one transaction in flight per loop, so a slow
store gathers larger batches instead of more transactions).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

Write = Callable[[list[list[Any]]], list[int]]
_FIRST_PAUSE, _LAST_PAUSE = 0.0002, 0.002  # between tries while another process writes


class _LoopQueue:
    """The records waiting on one loop, and whether a flush is due or running."""

    def __init__(self) -> None:
        self.waiting: list[tuple[list[Any], asyncio.Future[int]]] = []
        self.busy = False  # a flush is scheduled or in flight
        self.locked_since: float | None = None  # the write lock was busy from then on
        self.pause = _FIRST_PAUSE


class GroupCommit:
    """Appends from coroutines, written in batches by `write` (a list of records -> seqs).

    `write` may raise `busy` (nothing written: another process holds the write lock); the
    batch then waits on the loop, without blocking it, and is written with the records
    that arrive meanwhile, for up to `patience` seconds before `busy` refuses them all."""

    def __init__(self, write: Write, in_thread: bool,
                 busy: type[Exception] | None = None, patience: float = 10.0) -> None:
        self._write = write
        self._in_thread = in_thread
        self._busy = busy
        self._patience = patience
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopQueue] = \
            weakref.WeakKeyDictionary()

    async def append(self, fields: list[Any]) -> int:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _LoopQueue()
        done: asyncio.Future[int] = loop.create_future()
        queue.waiting.append((fields, done))
        if not queue.busy:
            queue.busy = True
            loop.call_soon(self._flush, loop, queue)
        return await done

    def _flush(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        batch, queue.waiting = queue.waiting, []
        if not batch:
            queue.busy = False
            return
        if not self._in_thread:
            outcome = self._outcome(batch)
            if self._busy is not None and isinstance(outcome, self._busy):
                now = loop.time()
                queue.locked_since = queue.locked_since or now
                if now - queue.locked_since < self._patience:
                    queue.waiting = batch + queue.waiting  # in order, with the newcomers
                    loop.call_later(queue.pause, self._flush, loop, queue)
                    queue.pause = min(2 * queue.pause, _LAST_PAUSE)
                    return
            queue.locked_since, queue.pause = None, _FIRST_PAUSE
            _settle(batch, outcome)
            queue.busy = False
            return
        try:
            running = loop.run_in_executor(None, self._outcome, batch)
        except RuntimeError as exc:  # the executor is shut down: refuse, never hang
            _settle(batch, exc)
            queue.busy = False
            return

        def finished(future: asyncio.Future[list[int] | BaseException]) -> None:
            _settle(batch, asyncio.CancelledError() if future.cancelled() else future.result())
            if queue.waiting:  # gathered while this batch was written: the next flush
                loop.call_soon(self._flush, loop, queue)
            else:
                queue.busy = False

        running.add_done_callback(finished)

    def _outcome(self, batch: list[tuple[list[Any], asyncio.Future[int]]]
                 ) -> list[int] | BaseException:
        try:
            return self._write([fields for fields, _ in batch])
        except Exception as exc:  # handed to every waiting request: none of them answers
            return exc


def _settle(batch: list[tuple[list[Any], asyncio.Future[int]]],
            outcome: list[int] | BaseException) -> None:
    for index, (_, done) in enumerate(batch):
        if done.done():  # the request was cancelled (client gone): its record stays written
            continue
        if isinstance(outcome, BaseException):
            done.set_exception(outcome)
        else:
            done.set_result(outcome[index])
