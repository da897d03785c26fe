"""What a rotation refreshes outside the warehouse once the warehouse has switched.

- The published views are republished for the same `today` as the live ones, so that the
  only difference a reader sees is the keys (not a new day's staleness or age bands).
- Quality findings in the state store name a resident key: they follow it to the new key, so
  a finding keeps its first-seen date instead of being "resolved" and reopened as new.
- The vault store (the API's read copy, hub.vault.store) is copied incrementally by batch;
  every ciphertext changed under unchanged batch ids, so it is rebuilt whole.
- The warehouse file is compacted: replaced tables leave their blocks (old keys) behind.

Audit records are not touched: the log is append-only and hash-chained, and the sealed key
history (vault.key_history) links today's keys to the ones those records carry.
"""

from __future__ import annotations

import json
import os
from datetime import date
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.exc import OperationalError, ProgrammingError

from catalog.quality_store import finding_id, quality_findings
from desensitize.keys import fsync_dir
from hub.settings import HubSettings
from hub.state.tables import linkage_reviews
from hub.views.publish import CURRENT
from hub.views.store import view_state
from hub.warehouse.store import Warehouse

if TYPE_CHECKING:
    from hub.pipeline.worker import PipelineWorker


def published_today(engine: Engine) -> date | None:
    """The `today` the live views were computed for, or None when nothing is published."""
    try:
        with engine.connect() as conn:
            summary = conn.execute(select(view_state.c.summary)
                                   .where(view_state.c.name == CURRENT)).scalar()
    except (OperationalError, ProgrammingError):  # no view tables: never published
        return None
    if summary is None:
        return None
    today = json.loads(summary).get("today")
    return date.fromisoformat(str(today)[:10]) if today else None


def rekey_findings(engine: Engine, con: duckdb.DuckDBPyConnection) -> int:
    """Move quality findings to the new resident keys (idempotent: new keys are not in the
    map). One state-store transaction; returns the findings moved."""
    t = quality_findings
    with engine.begin() as conn:
        rows = conn.execute(select(t.c.finding_id, t.c.kind, t.c.resident_key,
                                   t.c.datasets)).all()
        if not rows:
            return 0
        keys = pa.table({"old_key": pa.array(sorted({r.resident_key for r in rows}),
                                             pa.string())})
        con.register("_rotation_finding_keys", keys)
        try:
            mapping = dict(con.execute(
                "SELECT m.old_key, m.new_key FROM _rotation_finding_keys f "
                "JOIN rotation.resident_map m ON m.old_key = f.old_key").fetchall())
        finally:
            con.unregister("_rotation_finding_keys")
        moves = [{"b_old": r.finding_id, "b_key": mapping[r.resident_key],
                  "b_new": finding_id(r.kind, mapping[r.resident_key], r.datasets)}
                 for r in rows if r.resident_key in mapping]
        if moves:
            conn.execute(update(t).where(t.c.finding_id == bindparam("b_old"))
                         .values(finding_id=bindparam("b_new"), resident_key=bindparam("b_key")),
                         moves)
    return len(moves)


def rekey_reviews(engine: Engine, con: duckdb.DuckDBPyConnection) -> int:
    """Move the linkage review items to the new resident keys (idempotent, like findings)."""
    t = linkage_reviews
    with engine.begin() as conn:
        rows = conn.execute(select(t.c.review_id, t.c.resident_key)).all()
        if not rows:
            return 0
        keys = pa.table({"old_key": pa.array(sorted({r.resident_key for r in rows}),
                                             pa.string())})
        con.register("_rotation_review_keys", keys)
        try:
            mapping = dict(con.execute(
                "SELECT m.old_key, m.new_key FROM _rotation_review_keys f "
                "JOIN rotation.resident_map m ON m.old_key = f.old_key").fetchall())
        finally:
            con.unregister("_rotation_review_keys")
        moves = [{"b_id": r.review_id, "b_key": mapping[r.resident_key]}
                 for r in rows if r.resident_key in mapping]
        if moves:
            conn.execute(update(t).where(t.c.review_id == bindparam("b_id"))
                         .values(resident_key=bindparam("b_key")), moves)
    return len(moves)


def rebuild_vault_store(settings: HubSettings, con: duckdb.DuckDBPyConnection) -> int:
    """Replace the API's read copy of the vault and key history; returns the entries copied."""
    from hub.vault.store import VaultStore

    with VaultStore(settings.vault_store_path) as store:
        return store.rebuild_from_warehouse(con)


_COMPACT_ALIAS = "rotation_compact"
_INVENTORY = """
    SELECT 'table' AS kind, schema_name || '.' || table_name AS name, sql
    FROM duckdb_tables() WHERE database_name = $db
    UNION ALL SELECT 'view', schema_name || '.' || view_name, sql FROM duckdb_views()
    WHERE database_name = $db AND NOT internal
    UNION ALL SELECT 'index', schema_name || '.' || index_name, sql FROM duckdb_indexes()
    WHERE database_name = $db
    UNION ALL SELECT 'sequence', schema_name || '.' || sequence_name, sql FROM duckdb_sequences()
    WHERE database_name = $db
    ORDER BY ALL"""


def _inventory(con: duckdb.DuckDBPyConnection, db: str) -> list[tuple[object, ...]]:
    """Every object of database `db` and every table's row count."""
    objects = con.execute(_INVENTORY, {"db": db}).fetchall()
    counts = [(name, con.execute(f'SELECT count(*) FROM "{db}".{_quoted(str(name))}')
               .fetchall()[0][0]) for kind, name, _ in objects if kind == "table"]
    return [*objects, *counts]


def _quoted(dotted: str) -> str:
    schema, _, table = dotted.partition(".")
    return f'"{schema}"."{table}"'


def compact_warehouse(settings: HubSettings, worker: PipelineWorker) -> int:
    """Copy the warehouse into a fresh file and swap it in; returns the bytes saved.

    Dropped and replaced tables leave their blocks in the DuckDB file: after a pseudonym
    rotation those hold the curated rows under the retired keys, which a copy of the file and
    a leaked old key could still link. The copy holds only live data (and is smaller). The
    swap happens under the writer lock; if the copy does not hold exactly the same objects
    and row counts, or a WAL is left, the old file stays (returns -1) and nothing is lost."""
    if worker.warehouse is None:
        raise RuntimeError("open the worker before compacting")
    path = settings.warehouse_path
    copy = path.with_name(path.name + ".compact")
    for leftover in (copy, copy.with_name(copy.name + ".wal")):
        leftover.unlink(missing_ok=True)  # a compaction killed midway
    con = worker.warehouse.con
    con.execute("CHECKPOINT")
    db = str(con.execute("SELECT current_database()").fetchall()[0][0])
    quoted = str(copy).replace("'", "''")
    con.execute(f"ATTACH '{quoted}' AS {_COMPACT_ALIAS}")
    try:
        con.execute(f'COPY FROM DATABASE "{db}" TO {_COMPACT_ALIAS}')
        same = _inventory(con, db) == _inventory(con, _COMPACT_ALIAS)
    finally:
        con.execute(f"DETACH {_COMPACT_ALIAS}")
    before = path.stat().st_size
    worker.warehouse.close()
    wal_left = path.with_name(path.name + ".wal").exists() or \
        copy.with_name(copy.name + ".wal").exists()
    try:
        if same and not wal_left:
            os.replace(copy, path)
            fsync_dir(path.parent)
    finally:
        copy.unlink(missing_ok=True)
        # The worker's own attribute: the rotation keeps using the same worker (and lock).
        worker.warehouse = Warehouse(path, memory_limit=settings.warehouse_memory_limit,
                                     threads=settings.warehouse_threads)
    return before - path.stat().st_size if same and not wal_left else -1
