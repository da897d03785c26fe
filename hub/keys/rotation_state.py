"""Rotation state in the warehouse: one row per rotation, progress per chunked pass.

The state lives in the warehouse, next to the data it describes, so that a step and the record
of that step commit in one DuckDB transaction: after a crash the record never claims more (or
less) than the data shows. States, in order:

    preparing   copying the vault under the new key, chunk by chunk (rotation.* work tables)
    history     re-sealing the key history, chunk by chunk
    ready       every chunk done and checked; nothing switched yet
    switched    one transaction replaced the data: it now needs the new key
    keyed       the new key file replaced the old one
    published   views and ledger republished (pseudonym rotation)
    cleaned     read copies refreshed, work tables dropped
    done        warehouse compacted: no block of a replaced table is left in the file
    aborted     backed out before the switch (`hub keys rotate --abort`)

Any state but done/aborted makes the pipeline worker refuse to open (`refuse_if_rotating`), so
no batch is ever de-identified with a key the warehouse no longer uses. This module imports
nothing heavy: the worker calls it on every open.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from hub.keys.rotation_errors import RotationInProgress

KINDS = ("vault", "pseudonym")
ORDER = ("preparing", "history", "ready", "switched", "keyed", "published", "cleaned",
         "done")

DDL = [
    "CREATE SCHEMA IF NOT EXISTS meta",
    """CREATE TABLE IF NOT EXISTS meta.key_rotations (
        kind VARCHAR NOT NULL,
        epoch INTEGER NOT NULL,          -- 1, 2, ... per kind; the key history's epoch
        state VARCHAR NOT NULL,
        old_fingerprint VARCHAR NOT NULL,  -- hub.rotation.keyfiles.digest: no key material
        new_fingerprint VARCHAR NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        switched_at TIMESTAMPTZ,
        finished_at TIMESTAMPTZ,
        counters VARCHAR NOT NULL,       -- JSON: rows re-keyed per table
        seconds VARCHAR NOT NULL         -- JSON: seconds per step, summed over resumed runs
    )""",
    """CREATE TABLE IF NOT EXISTS meta.key_rotation_passes (
        kind VARCHAR NOT NULL,
        epoch INTEGER NOT NULL,
        pass VARCHAR NOT NULL,
        chunks_total INTEGER NOT NULL,
        chunks_done INTEGER NOT NULL,
        seconds DOUBLE NOT NULL
    )""",
]


@dataclass
class RotationRecord:
    kind: str
    epoch: int
    state: str
    old_fingerprint: str
    new_fingerprint: str
    started_at: datetime
    counters: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _has_table(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' "
                      "AND table_name = 'key_rotations'").fetchall()[0]
    return bool(row and row[0])


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)


def pending_rotation(con: duckdb.DuckDBPyConnection) -> RotationRecord | None:
    """The rotation that is half done, if any (at most one: a start refuses otherwise)."""
    if not _has_table(con):
        return None
    cursor = con.execute(
        "SELECT kind, epoch, state, old_fingerprint, new_fingerprint, started_at, counters, "
        "seconds FROM meta.key_rotations WHERE state NOT IN ('done', 'aborted') "
        "ORDER BY started_at DESC LIMIT 1")
    row = next(iter(cursor.fetchall()), None)
    if row is None:
        return None
    return RotationRecord(str(row[0]), int(row[1]), str(row[2]), str(row[3]), str(row[4]),
                          row[5], json.loads(row[6]), json.loads(row[7]))


def refuse_if_rotating(con: duckdb.DuckDBPyConnection) -> None:
    """Raise RotationInProgress while a rotation is half done (the worker's open calls it)."""
    pending = pending_rotation(con)
    if pending is not None:
        raise RotationInProgress(pending.kind, pending.epoch, pending.state)


def history(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every rotation, oldest first (for `hub keys rotate --status` and tests)."""
    if not _has_table(con):
        return []
    cursor = con.execute("SELECT kind, epoch, state, started_at, switched_at, finished_at, "
                         "counters, seconds FROM meta.key_rotations ORDER BY started_at")
    names = [d[0] for d in cursor.description or []]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    for r in rows:
        r["counters"], r["seconds"] = json.loads(r["counters"]), json.loads(r["seconds"])
    return rows


def begin(con: duckdb.DuckDBPyConnection, kind: str, old_fp: str, new_fp: str) -> RotationRecord:
    row = con.execute("SELECT coalesce(max(epoch), 0) FROM meta.key_rotations WHERE kind = ?",
                      [kind]).fetchall()[0]
    epoch = int(row[0]) + 1 if row else 1
    now = datetime.now(UTC)
    con.execute("INSERT INTO meta.key_rotations VALUES (?, ?, 'preparing', ?, ?, ?, NULL, NULL, "
                "'{}', '{}')", [kind, epoch, old_fp, new_fp, now])
    return RotationRecord(kind, epoch, "preparing", old_fp, new_fp, now)


def set_state(con: duckdb.DuckDBPyConnection, record: RotationRecord, state: str,
              step_seconds: dict[str, float] | None = None) -> None:
    """Record the new state (inside the caller's transaction when there is one)."""
    for step, secs in (step_seconds or {}).items():
        record.seconds[step] = round(record.seconds.get(step, 0.0) + secs, 3)
    stamp = {"switched": ", switched_at = now()", "done": ", finished_at = now()",
             "aborted": ", finished_at = now()"}.get(state, "")
    con.execute(f"UPDATE meta.key_rotations SET state = ?, counters = ?, seconds = ?{stamp} "
                "WHERE kind = ? AND epoch = ?",
                [state, json.dumps(record.counters, sort_keys=True),
                 json.dumps(record.seconds, sort_keys=True), record.kind, record.epoch])
    record.state = state


def pass_progress(con: duckdb.DuckDBPyConnection, record: RotationRecord,
                  name: str) -> tuple[int, int, float] | None:
    """(chunks done, chunks total, seconds so far) of a pass, or None before it is set up."""
    rows = con.execute("SELECT chunks_done, chunks_total, seconds FROM meta.key_rotation_passes "
                      "WHERE kind = ? AND epoch = ? AND pass = ?",
                      [record.kind, record.epoch, name]).fetchall()
    row = rows[0] if rows else None
    return (int(row[0]), int(row[1]), float(row[2])) if row else None


def add_pass(con: duckdb.DuckDBPyConnection, record: RotationRecord, name: str,
             chunks: int, seconds: float) -> None:
    con.execute("INSERT INTO meta.key_rotation_passes VALUES (?, ?, ?, ?, 0, ?)",
                [record.kind, record.epoch, name, chunks, seconds])


def chunk_done(con: duckdb.DuckDBPyConnection, record: RotationRecord, name: str, chunk: int,
               seconds: float) -> None:
    con.execute("UPDATE meta.key_rotation_passes SET chunks_done = ?, seconds = seconds + ? "
                "WHERE kind = ? AND epoch = ? AND pass = ?",
                [chunk + 1, seconds, record.kind, record.epoch, name])
