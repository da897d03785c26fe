"""Moving a log kept in the retired thirteen-column layout to the `body` layout, once.

The old layout stored the twelve hashed fields in columns and hashed their canonical JSON
array; the current one stores that very text. So each old record becomes its canonical text
with its hash unchanged: the chain, and every checkpoint already signed, stay valid, and a
record that was altered in the old table still fails verification afterwards. Runs inside
one write transaction (BEGIN IMMEDIATE), so that of several API processes starting at once
exactly one moves the records and the others find the new layout.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.schema import CreateIndex, CreateTable

from hub.audit.schema import HASHED_FIELDS, INSERT_SQL, audit_events, encode_record

RETIRED = "audit_events_retired"
_BATCH = 20_000


def _columns(con: sqlite3.Connection) -> list[str]:
    return [row[1] for row in con.execute("PRAGMA table_xinfo(audit_events)")]


def _plain(value: Any) -> Any:
    # A value someone stored as a blob: kept as text, so that verify reports the record.
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def old_layout(engine: Engine) -> bool:
    """Does the store hold an audit_events table without `body`?"""
    pooled = engine.raw_connection()
    try:
        columns = _columns(pooled.dbapi_connection)  # type: ignore[arg-type]
    finally:
        pooled.close()
    return bool(columns) and "body" not in columns


def migrate_sqlite(engine: Engine) -> int | None:
    """Move the records of a retired-layout table; their number, or None if none was."""
    pooled = engine.raw_connection()
    con: sqlite3.Connection = pooled.dbapi_connection  # type: ignore[assignment]
    isolation = con.isolation_level
    con.isolation_level = None
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            columns = _columns(con)
            if not columns or "body" in columns:  # nothing to do, or another process did it
                con.execute("ROLLBACK")
                return None
            moved = _move(con, engine)
            con.execute("COMMIT")
            return moved
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
    finally:
        con.isolation_level = isolation
        pooled.close()


def _move(con: sqlite3.Connection, engine: Engine) -> int:
    con.execute(f"ALTER TABLE audit_events RENAME TO {RETIRED}")
    for kind, name in con.execute(
            "SELECT type, name FROM sqlite_master WHERE tbl_name = ? AND type IN "
            "('index', 'trigger') AND sql IS NOT NULL", (RETIRED,)).fetchall():
        con.execute(f"DROP {kind.upper()} {name}")  # their names belong to the new table
    con.execute(str(CreateTable(audit_events).compile(dialect=engine.dialect)))
    for index in audit_events.indexes:
        con.execute(str(CreateIndex(index).compile(dialect=engine.dialect)))
    cursor = con.execute(f"SELECT {', '.join(HASHED_FIELDS)}, hash FROM {RETIRED} "
                         "ORDER BY seq")
    moved = 0
    while batch := cursor.fetchmany(_BATCH):
        rows = [(row[0], encode_record([_plain(v) for v in row[:-1]]), _plain(row[-1]))
                for row in batch]
        con.executemany(INSERT_SQL, rows)
        moved += len(rows)
    con.execute(f"DROP TABLE {RETIRED}")
    return moved
