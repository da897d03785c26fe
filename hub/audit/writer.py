"""Appending to the evidence log on SQLite: one dedicated connection per process, one
transaction per append, the chain's head decided inside it.

Fast path: the process remembers the head it last wrote (seq, hash, at) and inserts seq+1 in
one autocommit statement (a group commit's batch: seq+1 onwards, in one BEGIN IMMEDIATE
transaction). The primary key makes that safe across processes: if any other
process appended meanwhile, seq+1 exists already, the insert fails as a whole (IntegrityError)
and nothing was written; the slow path then takes the write lock up front (BEGIN IMMEDIATE),
reads the head, inserts and commits, three statements more than the fast path's one. While
other processes keep appending the guess mostly fails, so after a failure the process takes
the slow path until the head it finds there is its own again.

`at` never goes backwards along the chain (a record takes its predecessor's time if the clock
stepped back, within MAX_CLOCK_STEP), so a time range is a seq range: search needs no index
on `at`, and every append writes one index page less.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import weakref
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from time import gmtime, strftime, time_ns
from typing import Any

from sqlalchemy import Engine

from hub.audit.errors import WriteLockBusy
from hub.audit.schema import GENESIS_HASH, INSERT_SQL, _sha256, encode_body

MAX_CLOCK_STEP = timedelta(minutes=5)
_MAX_STEP_US = MAX_CLOCK_STEP // timedelta(microseconds=1)
_HEAD_SQL = "SELECT seq, hash, body FROM audit_events ORDER BY seq DESC LIMIT 1"
_inherited: list[Any] = []  # writer connections of a parent process: never used nor closed
_SQLITE_BUSY = 5  # the primary result code of every SQLITE_BUSY_* error


# Pages the WAL may grow to before the writer copies it back into the database, which
# costs an fsync of each file: SQLite's default of 1000 pages would mean one every ~250
# appends (each writes the table's page and two index pages). At 10000 it is one per ~2500
# appends, and a page rewritten by many appends is copied back once.
WAL_CHECKPOINT_PAGES = 10_000
WRITER_PRAGMAS = ("PRAGMA synchronous={synchronous}",
                  f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
_writers: weakref.WeakSet[SqliteWriter] = weakref.WeakSet()


def _forget_parent_connections() -> None:
    """In a forked child: a writer's connection belongs to the parent (SQLite forbids
    touching it here); the child opens its own at its first append."""
    for writer in list(_writers):
        writer.forked()


Head = tuple[int, str, str]  # seq, hash, at of the newest record


def at_text(moment: datetime) -> str:
    """ISO UTC with microseconds and a Z, so that text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_second: tuple[int, str] = (-1, "")  # the last whole second formatted, read as one object


def _text_of(microseconds: int) -> str:
    global _second
    second, fraction = divmod(microseconds, 1_000_000)
    cached = _second
    if cached[0] != second:
        cached = _second = (second, strftime("%Y-%m-%dT%H:%M:%S.", gmtime(second)))
    return f"{cached[1]}{fraction:06d}Z"


def record_time(previous_at: str) -> str:
    """Now (as `at_text` writes it), or the previous record's time if the clock stepped back
    by less than MAX_CLOCK_STEP. Built from a cached second: datetime.now().isoformat() is a
    noticeable share of an append."""
    now = time_ns() // 1000
    text = _text_of(now)
    if previous_at > text and previous_at <= _text_of(now + _MAX_STEP_US):
        return previous_at
    return text


def _at_of(body: Any) -> str:
    with contextlib.suppress(ValueError, TypeError, IndexError, KeyError):
        value = json.loads(body)[1]
        return value if isinstance(value, str) else ""
    return ""


def head_of(row: Sequence[Any] | None) -> Head:
    """The Head of a (seq, hash, body) row; the genesis head for an empty log."""
    return (int(row[0]), str(row[1]), _at_of(row[2])) if row else (0, GENESIS_HASH, "")


def chain(head: Head, batch: list[list[Any]], now: str | None = None
          ) -> tuple[list[tuple[int, str, str]], Head]:
    """(seq, body, hash) rows that extend `head` with `batch`, and the new head. `now`: the
    time of one clock every appender shares (the database server's, as `at_text` writes
    it); the records take it, or their predecessor's if that is later."""
    seq, prev, at = head
    at = record_time(at) if now is None else max(at, now)
    rows = []
    for fields in batch:
        seq += 1
        body = encode_body(seq, at, fields, prev)
        prev = _sha256(body.encode("utf-8")).hexdigest()
        rows.append((seq, body, prev))
    return rows, (seq, prev, at)


class SqliteWriter:
    """The audit writer of one process; the caller serialises threads around `append`."""

    def __init__(self, engine: Engine, synchronous: str) -> None:
        self.engine = engine
        self.synchronous = synchronous
        self._pid = 0
        self._pooled: Any = None
        self._con: sqlite3.Connection | None = None
        self._cursor: Any = None
        self._head: Head | None = None  # what this process last wrote or read
        self._alone = True  # no other process appended between our last two appends
        _writers.add(self)

    def forked(self) -> None:
        if self._con is not None and self._pid != os.getpid():
            _inherited.append(self._pooled)
            self._con = self._pooled = self._cursor = None
            self._head = None

    def _connection(self) -> sqlite3.Connection:
        if self._con is None:
            # From the engine, so that its connect arguments and pragmas (WAL, busy timeout)
            # apply; detached: this connection is the process's audit writer, not pooled.
            pooled = self.engine.raw_connection()
            pooled.detach()
            con = pooled.dbapi_connection
            if not isinstance(con, sqlite3.Connection):
                raise TypeError("the state store's driver is not sqlite3")
            con.isolation_level = None  # autocommit; explicit BEGIN IMMEDIATE when locking
            for pragma in WRITER_PRAGMAS:
                con.execute(pragma.format(synchronous=self.synchronous.upper()))
            # SQLite's own wait for a busy lock sleeps (1, 2, 5, 10 ms, ...) in the calling
            # thread, which on the API's event loop stops every request of the process:
            # the callers wait for the lock themselves (hub.audit.log, hub.audit.group).
            con.execute("PRAGMA busy_timeout=0")
            self._pid, self._pooled, self._con = os.getpid(), pooled, con
            self._cursor = con.cursor()  # reused: one cursor object less per append
        return self._con

    def close(self) -> None:
        if self._con is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):
                self._pooled.close()
        self._con = self._pooled = None
        self._head = None

    def append(self, batch: list[list[Any]]) -> list[int]:
        """Write the records, all or none, or raise WriteLockBusy (nothing written: another
        process holds the write lock; the caller decides whether and when to try again), or
        whatever else the store raised."""
        try:
            con = self._connection()
            if self._head is not None and self._alone:
                appended = self._append_after_own_head(con, batch)
                if appended is not None:
                    return appended
            return self._append_locked(con, batch)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != _SQLITE_BUSY:
                self.close()
                raise
            with contextlib.suppress(Exception):
                if self._con is not None and self._con.in_transaction:
                    self._con.execute("ROLLBACK")
            raise WriteLockBusy from exc
        except BaseException:
            self.close()  # the next append starts from a fresh connection and head
            raise

    def _append_after_own_head(self, con: sqlite3.Connection, batch: list[list[Any]]
                               ) -> list[int] | None:
        """Extend the head this process wrote last; None (nothing written) if another
        process appended since."""
        assert self._head is not None
        if len(batch) == 1:
            seq, prev, at = self._head
            seq, at = seq + 1, record_time(at)
            body = encode_body(seq, at, batch[0], prev)
            digest = _sha256(body.encode("utf-8")).hexdigest()
            try:
                self._cursor.execute(INSERT_SQL, (seq, body, digest))  # own transaction
            except sqlite3.IntegrityError:
                self._alone = False  # another process appended since: read the head
                return None
            self._head = (seq, digest, at)
            return [seq]
        # A group commit's batch: one transaction; its first insert meets the primary key
        # of another process's record if there is one.
        rows, head = chain(self._head, batch)
        try:
            with _immediate(con):
                self._cursor.executemany(INSERT_SQL, rows)
        except sqlite3.IntegrityError:
            self._alone = False
            return None
        self._head = head
        return [r[0] for r in rows]

    def _append_locked(self, con: sqlite3.Connection, batch: list[list[Any]]) -> list[int]:
        with _immediate(con):  # the write lock is taken before the head is read
            current = head_of(con.execute(_HEAD_SQL).fetchone())
            # Under contention the guess mostly fails: guess again once the head found here
            # is the one this process wrote last.
            self._alone = self._head is not None and current[0] == self._head[0]
            rows, head = chain(current, batch)
            if len(rows) == 1:
                con.execute(INSERT_SQL, rows[0])
            else:
                con.executemany(INSERT_SQL, rows)
        self._head = head
        return [r[0] for r in rows]


@contextlib.contextmanager
def _immediate(con: sqlite3.Connection) -> Iterator[None]:
    """One transaction holding the write lock from its start; rolled back on any error."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            if con.in_transaction:
                con.execute("ROLLBACK")
        raise


os.register_at_fork(after_in_child=_forget_parent_connections)
