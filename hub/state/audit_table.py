"""The evidence log's table: the hashed record text in `body`, readable columns generated from it.

The record format itself (canonical JSON of HASHED_FIELDS, hashing) is hub.audit.schema's;
the table is here with the rest of the state store's schema. The readable columns (at, actor,
resident_key, ...) are generated columns read out of `body`, VIRTUAL on SQLite and STORED on
PostgreSQL: there is no second copy that could be edited apart from what was hashed. The
guards that refuse UPDATE and DELETE are triggers made by the migrations.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Computed, Index, Integer, String, Table, Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import TypeEngine

from catalog.db import metadata

# Canonical order of the hashed fields; changing it invalidates every existing chain.
HASHED_FIELDS = ("seq", "at", "request_id", "actor", "role", "scope", "action", "purpose",
                 "resident_key", "outcome", "detail", "prev_hash")


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
