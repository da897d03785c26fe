"""The evidence log's record format and table: the hashed text is what is stored.

A record is one line of canonical JSON, the array of HASHED_FIELDS values (compact separators,
UTF-8, prev_hash last), stored as it was hashed in the `body` column; `hash` is SHA-256 of
those bytes. The readable columns (at, actor, resident_key, ...) are VIRTUAL generated columns
read out of `body`: there is no second copy that could be edited apart from what was hashed,
and verification reads two columns per record instead of thirteen (fetching thirteen would
by itself exceed the verify budget of B5 in docs/benchmarks.md).
Anyone can check a record with standard tools: sha256 of the body text equals `hash`, and the
body's last element equals the `hash` of the record before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Computed, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import TypeEngine

GENESIS_HASH = "0" * 64
# Canonical order of the hashed fields; changing it invalidates every existing chain.
HASHED_FIELDS = ("seq", "at", "request_id", "actor", "role", "scope", "action", "purpose",
                 "resident_key", "outcome", "detail", "prev_hash")
COLUMNS = (*HASHED_FIELDS, "hash")
# The C encoder; tuples encode as JSON arrays. Control characters are always escaped, so a
# body never holds a raw newline.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_sha256 = hashlib.sha256


# JSONEncoder.encode builds this C encoder anew on every call, which costs more than the
# encoding of a record; built once here, with the encoder's own arguments, it writes the same
# bytes (a test pins the equality).
_c_encoder = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, json.JSONEncoder().default, json.encoder.encode_basestring, None, ":", ",", False,
    False, True) if json.encoder.c_make_encoder is not None else None  # type: ignore[attr-defined]


def canonical_json(value: Any) -> str:
    """`_dumps(value)`: compact separators, UTF-8 text, keys in the order given."""
    if _c_encoder is None:
        return _dumps(value)
    return "".join(_c_encoder(value, 0))


def encode_record(values: Sequence[Any]) -> str:
    """The stored and hashed text of a record: canonical JSON array in HASHED_FIELDS order."""
    return canonical_json(tuple(values))


def encode_list(items: Sequence[str]) -> str:
    """JSON text of a list of strings, as `_dumps(list(items))`."""
    return canonical_json(list(items))


def record_hash(values: Sequence[Any]) -> str:
    """SHA-256 (hex) of the canonical JSON array of `values` in HASHED_FIELDS order."""
    return _sha256(encode_record(values).encode("utf-8")).hexdigest()


class _BodyItem(ColumnElement[Any]):
    """Element `index` of the JSON array in `body`, in each dialect's own JSON syntax."""

    inherit_cache = True

    def __init__(self, index: int, type_: TypeEngine[Any]) -> None:
        self.index = index
        self.type = type_


@compiles(_BodyItem)
def _body_item_sqlite(element: _BodyItem, compiler: Any, **kw: Any) -> str:
    return f"json_extract(body, '$[{element.index}]')"


@compiles(_BodyItem, "postgresql")
def _body_item_postgres(element: _BodyItem, compiler: Any, **kw: Any) -> str:
    return f"((body)::jsonb ->> {element.index})"


def _field(name: str, type_: TypeEngine[Any]) -> Column[Any]:
    # persisted=None: VIRTUAL on SQLite (computed on read, nothing stored twice), STORED
    # where the database knows no other kind.
    index = HASHED_FIELDS.index(name)
    return Column(name, type_, Computed(_BodyItem(index, type_), persisted=None))


metadata = MetaData()

audit_events = Table(
    "audit_events", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("body", Text, nullable=False),
    Column("hash", String(64), nullable=False),
    _field("at", String(32)),
    _field("request_id", String(64)),
    _field("actor", String(160)),
    _field("role", String(32)),
    _field("scope", Text()),  # JSON list, as text inside the record
    _field("action", String(64)),
    _field("purpose", String(32)),
    _field("resident_key", String(128)),
    _field("outcome", String(64)),
    _field("detail", Text()),
    _field("prev_hash", String(64)),
    Index("ix_audit_events_resident_key", "resident_key"),
    # (actor, at): the per-actor rate limit counts one actor's records in a time window.
    # No index on `at` alone: a time range is a seq range (hub.audit.writer), and each index
    # costs every append one more page written.
    Index("ix_audit_events_actor", "actor", "at"),
)

SQLITE_GUARDS = (
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
)
INSERT_SQL = "INSERT INTO audit_events (seq, body, hash) VALUES (?, ?, ?)"
HEAD_SQL = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"


def decode_record(seq: int, body: str, stored_hash: str) -> dict[str, Any]:
    """A stored record as the API shows it (`scope` as a list); `seq` is the stored number."""
    try:
        values = json.loads(body)
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != len(HASHED_FIELDS):
        # Shown as stored, not hidden: `hub audit verify` names what is wrong with it.
        return {"seq": seq, "body": body, "hash": stored_hash, "problem": "unreadable record"}
    item = dict(zip(HASHED_FIELDS, values, strict=True))
    item["seq"], item["hash"] = seq, stored_hash
    with contextlib.suppress(TypeError, ValueError):  # shown as stored: verify reports it
        item["scope"] = json.loads(item["scope"])
    return item
