"""The evidence log: one hash-chained record per resident-level request, returned or refused.

Record n is the canonical JSON text of its fields, stored as hashed (hub.audit.schema); its
last field `prev_hash` is the hash of record n-1 (64 zeros for record 1) and `hash` is SHA-256
of the text. `verify` recomputes the chain and names the first record altered, removed or
inserted (hub.audit.verify); a signed checkpoint (hub.audit.checkpoint) makes truncation of
the tail detectable too.

Appends on SQLite go through one dedicated DBAPI connection per process with prepared
statements (hub.audit.writer): the head is decided inside the write transaction (a single
INSERT of head+1 that the primary key refuses if another API worker process appended first,
else BEGIN IMMEDIATE, read head, insert, commit), so several processes extend one chain. The
record is committed before `append` returns; if that fails the caller gets AuditWriteFailed
and must not return data. `append_many` writes several records in one transaction;
`append_async` (the API's look-ups) commits the records of concurrent requests together
(hub.audit.group), each still before its request answers.

Durability, the `synchronous` argument (`settings.audit.synchronous`, HUB_AUDIT_SYNCHRONOUS):
`normal` (default) commits
into the WAL without fsync: a crash of the application or of any API process loses no record
that was acknowledged, but a power cut or kernel crash may lose the records of the last
seconds (those the OS had not yet written back). The chain stays valid (SQLite recovers a
prefix of the WAL), and a checkpoint written after the lost records shows them as truncated.
`full` fsyncs the WAL on every append: no loss even then, at one disk flush per request
(milliseconds, against microseconds without it). Normal is the default because the state
store as a whole runs so (catalog.db) and the threat the log answers is tampering, not power
loss; set `full` where the evidence must survive a power cut.

The table and its guards (SQLite triggers that refuse UPDATE and DELETE through the normal
paths; they do not stop someone holding the file, which is what the chain is for) come from
the state store's migrations (hub.state).
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from hub.audit.errors import (
    AuditConfigInvalid,
    AuditUnavailable,
    AuditWriteFailed,
    AuditWriterBusy,
    WriteLockBusy,
)
from hub.audit.group import GroupCommit
from hub.audit.schema import (
    COLUMNS,
    GENESIS_HASH,
    HASHED_FIELDS,
    HEAD_SQL,
    audit_events,
    canonical_json,
    decode_record,
    encode_list,
    encode_record,
    record_hash,
)
from hub.audit.verify import PRECISE_SQL, SLICE, VerifyResult, check_rows, verify_sqlite
from hub.audit.writer import SqliteWriter, at_text, chain, head_of
from hub.security.roles import Principal

__all__ = ["COLUMNS", "GENESIS_HASH", "HASHED_FIELDS", "AuditLog", "VerifyResult",
           "audit_events", "encode_record", "record_hash"]

_SYNCHRONOUS = ("normal", "full")
# How long an append waits for another process's write lock (the state store's own busy
# timeout, hub catalog.db), in pauses from the first to the last below.
WRITER_PATIENCE = 10.0
_FIRST_PAUSE, _LAST_PAUSE = 0.0005, 0.01
_SCOPES_KEPT = 4096  # encoded scopes remembered per process
_HEAD_ROW_SQL = "SELECT seq, hash, body FROM audit_events ORDER BY seq DESC LIMIT 1"
# PostgreSQL's clock as `at_text` writes time (UTC, microseconds, Z), with the head row, in
# the same simple query as BEGIN and the table lock.
_PG_LOCK_HEAD_SQL = (
    "BEGIN; LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE; "
    "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), h.seq, h.hash, h.body FROM (SELECT 1) AS one "
    "LEFT JOIN (SELECT seq, hash, body FROM audit_events ORDER BY seq DESC LIMIT 1) AS h "
    "ON true")
_PG_INSERT_SQL = "INSERT INTO audit_events (seq, body, hash) VALUES (%s, %s, %s)"


def _utc_text(moment: datetime | str) -> str:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return at_text(moment)


class AuditLog:
    def __init__(self, engine: Engine, *, synchronous: str = "normal",
                 patience: float = WRITER_PATIENCE) -> None:
        """`patience`: seconds an append waits for another process's write lock before it
        fails (AuditWriterBusy)."""
        self.engine = engine
        self._patience = patience
        self._url = engine.url.render_as_string(hide_password=True)
        self._sqlite = engine.dialect.name == "sqlite"
        database = engine.url.database if self._sqlite else None
        # A file of its own: verify processes and the writer connection can open it again.
        self._file = database if database and database != ":memory:" and \
            not database.startswith("file:") else None
        choice = synchronous.strip().lower()
        if choice not in _SYNCHRONOUS:
            raise AuditConfigInvalid("HUB_AUDIT_SYNCHRONOUS", "must be normal or full")
        self.synchronous = choice
        self._lock = threading.Lock()  # API threads of one process share the writer
        self._writer = SqliteWriter(engine, choice) if self._file else None
        self._scopes: dict[tuple[str, ...], str] = {}
        # The API's appends (`append_async`): on a networked store written from a thread.
        self._group = GroupCommit(self._try_write, in_thread=self._writer is None
                                  and not self._sqlite, busy=AuditWriterBusy,
                                  patience=patience)

    def __repr__(self) -> str:
        return f"AuditLog({self._url})"

    def close(self) -> None:
        """Close this process's writer connection (reopened by the next append)."""
        if self._writer is not None:
            with self._lock:
                self._writer.close()

    # -- writing ---------------------------------------------------------------------------

    def append(self, *, action: str, outcome: str, principal: Principal | None = None,
               actor: str | None = None, role: str | None = None,
               scope: Sequence[str] | str | None = None, request_id: str | None = None,
               purpose: str | None = None, resident_key: str | None = None,
               detail: str | Mapping[str, Any] | None = None) -> int:
        """Write one record and return its seq; AuditWriteFailed if it was not written.

        Pass `principal` (fills actor, role and scope) or `actor`/`role`/`scope` directly
        (e.g. "anonymous" for a request without a valid token). `detail` must name ids and
        rules only, never a raw identifier; a mapping is stored as JSON."""
        fields = self._fields(action, outcome, principal, actor, role, scope, request_id,
                              purpose, resident_key, detail)  # by position: keywords cost more
        return self._write([fields])[0]

    async def append_async(self, **fields: Any) -> int:
        """`append` for a coroutine: the record is committed before this returns, in one
        transaction with the records other requests of this event loop hand over in the
        same turn (hub.audit.group); AuditWriteFailed if it was not written."""
        return await self._group.append(self._fields(**fields))

    def append_many(self, records: Iterable[Mapping[str, Any]]) -> list[int]:
        """Write several records (each the keyword arguments of `append`) in one transaction:
        all of them or, with AuditWriteFailed, none. Returns their seqs in order."""
        batch = [self._fields(**dict(r)) for r in records]
        return self._write(batch) if batch else []

    def _fields(self, action: str, outcome: str, principal: Principal | None = None,
                actor: str | None = None, role: str | None = None,
                scope: Sequence[str] | str | None = None, request_id: str | None = None,
                purpose: str | None = None, resident_key: str | None = None,
                detail: str | Mapping[str, Any] | None = None) -> list[Any]:
        if principal is not None:
            actor = actor or principal.actor
            role = role or principal.role.value
            scope = principal.scope if scope is None else scope
        if not action or not outcome or not actor or not role:
            raise AuditWriteFailed(self._url, "action, outcome, actor and role are required")
        if isinstance(scope, str):
            scope_text = scope
        else:  # a caller's scope is the same on every request: encoded once per process
            key = tuple(scope or ())
            scope_text = self._scopes.get(key) or self._scope_text(key)
        detail_text = detail if detail is None or isinstance(detail, str) else canonical_json(
            dict(detail))
        return [request_id, actor, str(role), scope_text, action, purpose, resident_key,
                outcome, detail_text]

    def _scope_text(self, scope: tuple[str, ...]) -> str:
        if len(self._scopes) >= _SCOPES_KEPT:
            self._scopes.clear()
        text = self._scopes[scope] = encode_list(list(scope))
        return text

    def _write(self, batch: list[list[Any]]) -> list[int]:
        """Write, waiting (in this thread) up to the log's patience for another process's
        write lock."""
        deadline: float | None = None  # read the clock only once the lock was busy
        pause = _FIRST_PAUSE
        while True:
            try:
                return self._try_write(batch)
            except AuditWriterBusy:
                if deadline is None:
                    deadline = time.monotonic() + self._patience
                if time.monotonic() >= deadline:
                    raise
                time.sleep(pause)
                pause = min(2 * pause, _LAST_PAUSE)

    def _try_write(self, batch: list[list[Any]]) -> list[int]:
        """One attempt: the seqs, AuditWriterBusy (nothing written), or AuditWriteFailed."""
        try:
            if self._writer is not None:
                with self._lock:
                    return self._writer.append(batch)
            return self._append_generic(batch)
        except AuditWriteFailed:
            raise
        except WriteLockBusy as exc:
            raise AuditWriterBusy(self._url, "another process held the write lock") from exc
        except Exception as exc:  # any failure means: no record, so no data
            raise AuditWriteFailed(self._url, exc.__class__.__name__) from exc

    def _append_postgres(self, batch: list[list[Any]]) -> list[int]:
        """One appender at a time across every host (a table lock), and the server's clock
        for `at` (hosts' clocks differ, and a time range must stay a seq range). Three round
        trips: BEGIN, the lock, the clock and the head in one simple query; the insert;
        COMMIT."""
        raw = self.engine.raw_connection()
        con: Any = raw.driver_connection
        try:
            con.autocommit = True  # the transaction is the explicit BEGIN ... COMMIT below
            cur = con.cursor()
            try:
                cur.execute(_PG_LOCK_HEAD_SQL)
                while cur.description is None and cur.nextset():
                    pass
                now, seq, digest, body = cur.fetchone()
                head = head_of(None if seq is None else (seq, digest, body))
                rows, _ = chain(head, batch, now)
                cur.executemany(_PG_INSERT_SQL, rows)
                cur.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()
        finally:
            with contextlib.suppress(Exception):
                con.autocommit = False
            raw.close()
        return [r[0] for r in rows]

    def _append_generic(self, batch: list[list[Any]]) -> list[int]:
        if self.engine.dialect.name == "postgresql":
            return self._append_postgres(batch)
        with self.engine.begin() as conn:
            rows, _ = chain(head_of(conn.execute(text(_HEAD_ROW_SQL)).first()), batch)
            conn.execute(audit_events.insert(), [
                {"seq": seq, "body": body, "hash": h} for seq, body, h in rows])
        return [r[0] for r in rows]

    # -- reading ---------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last record, (0, 64 zeros) for an empty log."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(text(HEAD_SQL)).first()
        except SQLAlchemyError as exc:
            raise AuditUnavailable(self._url, exc.__class__.__name__) from exc
        return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)

    def hash_of(self, seq: int) -> str | None:
        try:
            with self.engine.connect() as conn:
                return conn.execute(select(audit_events.c.hash).where(
                    audit_events.c.seq == seq)).scalar()
        except SQLAlchemyError as exc:
            raise AuditUnavailable(self._url, exc.__class__.__name__) from exc

    def verify(self, workers: int | None = None) -> VerifyResult:
        """Recompute the chain; name the first record altered, removed or inserted.
        `workers`: processes for a large SQLite log (default: up to the CPUs, at most 4)."""
        try:
            if self._sqlite and self._file:
                # a picklable recipe: the verify processes open their own readers
                return verify_sqlite(functools.partial(sqlite3.connect, self._file,
                                                       timeout=10.0), workers)
            return self._verify_generic()
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise AuditUnavailable(self._url, exc.__class__.__name__) from exc

    def _verify_generic(self) -> VerifyResult:
        sql = PRECISE_SQL if self._sqlite else PRECISE_SQL.replace(
            "CAST(body AS BLOB)", "body").replace("CAST(hash AS BLOB)", "hash")
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=SLICE).execute(
                text(sql.replace("?", ":start")), {"start": -(2**63)})
            return check_rows(tuple(row) for row in result)

    def search(self, actor: str | None = None, resident_key: str | None = None,
               outcome: str | None = None, since: datetime | str | None = None,
               until: datetime | str | None = None, offset: int = 0, limit: int = 100,
               newest_first: bool = True, action: str | None = None) -> list[dict[str, Any]]:
        """Records matching every given filter. `actor` matches the full actor or its token
        id; `outcome` "refused" matches every refusal; `since` inclusive, `until` exclusive.
        Fields are read from the stored (hashed) text, as verify checks it."""
        t = audit_events
        query = select(t.c.seq, t.c.body, t.c.hash)
        if action is not None:
            query = query.where(t.c.action == action)
        if actor is not None:
            query = query.where((t.c.actor == actor) | t.c.actor.startswith(
                f"{actor}:", autoescape=True))
        if resident_key is not None:
            query = query.where(t.c.resident_key == resident_key)
        if outcome == "refused":
            query = query.where(t.c.outcome.startswith("refused:"))
        elif outcome is not None:
            query = query.where(t.c.outcome == outcome)
        order = t.c.seq.desc() if newest_first else t.c.seq
        query = query.order_by(order).offset(max(0, offset)).limit(max(0, min(limit, 1000)))
        try:
            with self.engine.connect() as conn:
                if since is not None:
                    query = query.where(t.c.seq >= _first_seq_at(conn, _utc_text(since)))
                if until is not None:
                    query = query.where(t.c.seq < _first_seq_at(conn, _utc_text(until)))
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise AuditUnavailable(self._url, exc.__class__.__name__) from exc
        return [decode_record(int(r[0]), r[1], r[2]) for r in rows]


    def distinct(self, field: str) -> list[str]:
        """The values one readable field (actor, action, outcome, role) takes in the log,
        sorted: the choices of a filter, so that an unknown value is refused, not searched."""
        if field not in ("actor", "action", "outcome", "role"):
            raise ValueError("not a filterable audit field")
        column = audit_events.c[field]
        try:
            with self.engine.connect() as conn:
                values = conn.execute(select(column).distinct().where(column.is_not(None))
                                      ).scalars().all()
        except SQLAlchemyError as exc:
            raise AuditUnavailable(self._url, exc.__class__.__name__) from exc
        return sorted(str(v) for v in values)


def _first_seq_at(conn: Connection, moment: str) -> int:
    """The first seq whose `at` is at or after `moment` (max seq + 1 if none): a binary
    search over seq, as `at` never goes backwards along the chain (hub.audit.writer)."""
    t = audit_events
    low, high = conn.execute(select(func.min(t.c.seq), func.max(t.c.seq))).one()
    if low is None:
        return 1
    high += 1
    probe = select(t.c.seq, t.c.at).order_by(t.c.seq).limit(1)
    while low < high:
        middle = (low + high) // 2
        row = conn.execute(probe.where(t.c.seq >= middle)).first()
        if row is None or (row[1] or "") >= moment:
            high = middle
        else:
            low = int(row[0]) + 1
    return int(low)
