"""The evidence log: one hash-chained record per resident-level request, returned or refused.

Record n stores `prev_hash` = hash of record n-1 (64 zeros for record 1) and
`hash` = SHA-256 of the canonical JSON of its fields (see `record_hash`). `verify` recomputes
the chain in seq order and names the first record that was altered, removed or inserted;
a signed checkpoint (hub.audit.checkpoint) makes truncation of the tail detectable too.

Appends take SQLite's write lock up front (BEGIN IMMEDIATE) so that several API worker
processes serialise on the head: read head, insert head+1, commit, all in one transaction.
If that fails the caller gets AuditWriteFailed and must not return data. The SQLite triggers
refuse UPDATE and DELETE through the normal paths; they do not stop someone holding the file,
which is what the chain is for.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Engine, Index, Integer, MetaData, String, Table, Text, select, text
from sqlalchemy.exc import SQLAlchemyError

from hub.audit.errors import AuditUnavailable, AuditWriteFailed
from hub.security.roles import Principal

GENESIS_HASH = "0" * 64
VERIFY_BATCH = 20_000
# Canonical order of the hashed fields; changing it invalidates every existing chain.
HASHED_FIELDS = ("seq", "at", "request_id", "actor", "role", "scope", "action", "purpose",
                 "resident_key", "outcome", "detail", "prev_hash")
COLUMNS = (*HASHED_FIELDS, "hash")

metadata = MetaData()

audit_events = Table(
    "audit_events", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("request_id", String(64)),
    Column("actor", String(160), nullable=False),
    Column("role", String(32), nullable=False),
    Column("scope", Text, nullable=False),  # JSON list
    Column("action", String(64), nullable=False),
    Column("purpose", String(32)),
    Column("resident_key", String(128)),
    Column("outcome", String(64), nullable=False),
    Column("detail", Text),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_events_resident_key", "resident_key"),
    Index("ix_audit_events_actor", "actor"),
    Index("ix_audit_events_at", "at"),
)

_SQLITE_GUARDS = (
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
)
_INSERT_SQL = (f"INSERT INTO audit_events ({', '.join(COLUMNS)}) "
               f"VALUES ({', '.join('?' for _ in COLUMNS)})")
_HEAD_SQL = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
_SCAN_SQL = f"SELECT {', '.join(COLUMNS)} FROM audit_events ORDER BY seq"
# The C encoder; tuples encode as JSON arrays, so rows from the driver hash as they come.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_sha256 = hashlib.sha256


def record_hash(values: Sequence[Any]) -> str:
    """SHA-256 of the canonical JSON array of `values` in HASHED_FIELDS order."""
    return _sha256(_dumps(tuple(values)).encode("utf-8")).hexdigest()


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")[:26] + "Z"


def _utc_text(moment: datetime | str) -> str:
    """ISO UTC with microseconds and a Z, so that text order is time order."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._url = engine.url.render_as_string(hide_password=True)
        self._sqlite = engine.dialect.name == "sqlite"

    def __repr__(self) -> str:
        return f"AuditLog({self._url})"

    def create_all(self) -> None:
        try:
            metadata.create_all(self.engine)
            if self._sqlite:
                with self.engine.begin() as conn:
                    for ddl in _SQLITE_GUARDS:
                        conn.execute(text(ddl))
        except SQLAlchemyError as exc:
            raise AuditUnavailable(self._url, exc.__class__.__name__) from exc

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
        if principal is not None:
            actor = actor or principal.actor
            role = role or principal.role.value
            scope = principal.scope if scope is None else scope
        if not action or not outcome or not actor or not role:
            raise AuditWriteFailed(self._url, "action, outcome, actor and role are required")
        scope_text = scope if isinstance(scope, str) else _dumps(list(scope or ()))
        detail_text = detail if detail is None or isinstance(detail, str) else _dumps(
            dict(detail))
        fields = [request_id, actor, str(role), scope_text, action, purpose, resident_key,
                  outcome, detail_text]
        try:
            if self._sqlite:
                return self._append_sqlite(fields)
            return self._append_generic(fields)
        except AuditWriteFailed:
            raise
        except Exception as exc:  # any failure means: no record, so no data
            raise AuditWriteFailed(self._url, exc.__class__.__name__) from exc

    def _append_sqlite(self, fields: list[Any]) -> int:
        raw = self.engine.raw_connection()
        try:
            con = raw.driver_connection
            assert con is not None
            con.execute("BEGIN IMMEDIATE")  # take the write lock before reading the head
            try:
                head = con.execute(_HEAD_SQL).fetchone()
                seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
                values = [seq, _now_text(), *fields, prev]
                con.execute(_INSERT_SQL, (*values, record_hash(values)))
                con.commit()
            except BaseException:
                con.rollback()
                raise
            return int(seq)
        finally:
            raw.close()

    def _append_generic(self, fields: list[Any]) -> int:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execute(text("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE"))
            head = conn.execute(text(_HEAD_SQL)).first()
            seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
            values = [seq, _now_text(), *fields, prev]
            conn.execute(audit_events.insert().values(
                dict(zip(COLUMNS, (*values, record_hash(values)), strict=True))))
        return int(seq)

    # -- reading ---------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last record, (0, 64 zeros) for an empty log."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(text(_HEAD_SQL)).first()
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

    def _rows(self) -> Generator[Sequence[Any], None, None]:
        """Every record in seq order, streamed in batches from one read snapshot."""
        if self._sqlite:
            raw = self.engine.raw_connection()
            try:
                cur = raw.cursor()
                cur.execute(_SCAN_SQL)
                while batch := cur.fetchmany(VERIFY_BATCH):
                    yield from batch
                cur.close()
            finally:
                raw.close()
            return
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=VERIFY_BATCH).execute(text(_SCAN_SQL))
            for row in result:
                yield tuple(row)

    def verify(self) -> VerifyResult:
        """Recompute the chain; name the first record altered, removed or inserted."""
        try:
            with contextlib.closing(self._rows()) as rows:
                return _check_chain(rows)
        except SQLAlchemyError as exc:
            raise AuditUnavailable(self._url, exc.__class__.__name__) from exc

    def search(self, actor: str | None = None, resident_key: str | None = None,
               outcome: str | None = None, since: datetime | str | None = None,
               until: datetime | str | None = None, offset: int = 0, limit: int = 100,
               newest_first: bool = True) -> list[dict[str, Any]]:
        """Records matching every given filter. `actor` matches the full actor or its token
        id; `outcome` "refused" matches every refusal; `since` inclusive, `until` exclusive."""
        t = audit_events
        query = select(t)
        if actor is not None:
            query = query.where((t.c.actor == actor) | t.c.actor.startswith(
                f"{actor}:", autoescape=True))
        if resident_key is not None:
            query = query.where(t.c.resident_key == resident_key)
        if outcome == "refused":
            query = query.where(t.c.outcome.startswith("refused:"))
        elif outcome is not None:
            query = query.where(t.c.outcome == outcome)
        if since is not None:
            query = query.where(t.c.at >= _utc_text(since))
        if until is not None:
            query = query.where(t.c.at < _utc_text(until))
        order = t.c.seq.desc() if newest_first else t.c.seq
        query = query.order_by(order).offset(max(0, offset)).limit(max(0, min(limit, 1000)))
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise AuditUnavailable(self._url, exc.__class__.__name__) from exc
        out = []
        for r in rows:
            item = dict(r._mapping)
            with contextlib.suppress(ValueError):  # shown as stored: verify reports it
                item["scope"] = json.loads(item["scope"])
            out.append(item)
        return out


def _check_chain(rows: Iterator[Sequence[Any]]) -> VerifyResult:
    # Hot loop (1M records): the hash is inlined, each record is hashed once.
    expected, prev, checked = 1, GENESIS_HASH, 0
    dumps, sha256 = _dumps, _sha256
    for row in rows:
        seq, values, stored = row[0], tuple(row[:-1]), row[-1]
        good_hash = sha256(dumps(values).encode("utf-8")).hexdigest() == stored
        if seq != expected:
            if seq < expected:
                return VerifyResult(False, checked, seq, f"record {seq} precedes record 1: "
                                    "inserted")
            if values[-1] == prev and good_hash:
                return VerifyResult(False, checked, seq, f"record {seq} follows record "
                                    f"{expected - 1}: renumbered or inserted")
            missing = f"{expected}" if seq == expected + 1 else f"{expected}-{seq - 1}"
            return VerifyResult(False, checked, expected, f"record {missing} missing: removed")
        if not good_hash:
            return VerifyResult(False, checked, seq, f"record {seq} altered or inserted: its "
                                "content does not match its hash")
        if values[-1] != prev:
            return VerifyResult(False, checked, seq, f"record {seq} does not link to record "
                                f"{seq - 1}: one of them was rewritten, or {seq} was inserted")
        prev, expected, checked = stored, expected + 1, checked + 1
    return VerifyResult(True, checked, None, None)
