"""The catalog in the state store: datasets, contract versions and batch history (lineage).

Entries come from `schemas.compile_catalog.catalog_entry`; batch records from the pipeline
worker after each warehouse commit. The warehouse manifest (`meta.batches`) is the truth of
what was loaded; this store is what the API and people read, and `sync_batches` repairs it
if a worker died between the warehouse commit and the catalog write.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from catalog.db import metadata
from catalog.errors import DatasetUnknown

datasets = Table(
    "catalog_datasets", metadata,
    Column("name", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("owner", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("sharing", String(16), nullable=False),
    Column("update_frequency_days", Integer),
    Column("current_version", String(32), nullable=False),
    Column("entry", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

contract_versions = Table(
    "catalog_contract_versions", metadata,
    Column("dataset", String(64), primary_key=True),
    Column("version", String(32), primary_key=True),
    Column("entry", JSON, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
)

BATCH_COLUMNS = [
    "batch_id", "dataset", "source", "department", "location", "content_sha256",
    "contract_version", "grid_scheme", "rows_read", "rows_loaded", "rows_quarantined",
    "outcome", "reason", "as_of", "started_at", "finished_at", "timings", "top_rules",
]

batches = Table(
    "catalog_batches", metadata,
    Column("batch_id", String(96), primary_key=True),
    Column("dataset", String(64), nullable=False, index=True),
    Column("source", String(96), nullable=False),
    Column("department", String(64), nullable=False),
    Column("location", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("contract_version", String(32), nullable=False),
    Column("grid_scheme", String(64)),
    Column("rows_read", BigInteger, nullable=False),
    Column("rows_loaded", BigInteger, nullable=False),
    Column("rows_quarantined", BigInteger, nullable=False),
    Column("outcome", String(32), nullable=False),  # awaiting_confirmation is 21
    Column("reason", Text),
    Column("as_of", String(10)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("timings", JSON),
    Column("top_rules", JSON),
)


def _now() -> datetime:
    return datetime.now(UTC)


def upsert_insert(engine: Engine, table: Table) -> Any:
    """An INSERT with ON CONFLICT support for the state store's dialect (SQLite or Postgres)."""
    return postgres_insert(table) if engine.dialect.name == "postgresql" else sqlite_insert(table)


class CatalogStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def register_contract(self, entry: dict[str, Any]) -> None:
        """Record a contract (idempotent); a new version becomes the current one."""
        now = _now()
        row = {
            "name": entry["name"], "title": entry["title"], "owner": entry["owner"],
            "kind": entry.get("kind", "source"), "sharing": entry["sharing"],
            "update_frequency_days": entry.get("update_frequency_days"),
            "current_version": entry["version"], "entry": entry, "updated_at": now,
        }
        with self.engine.begin() as conn:
            stmt = upsert_insert(self.engine, datasets).values(**row)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["name"],
                set_={k: stmt.excluded[k] for k in row if k != "name"},
            ))
            conn.execute(upsert_insert(self.engine, contract_versions).values(
                dataset=entry["name"], version=entry["version"], entry=entry, registered_at=now,
            ).on_conflict_do_nothing())

    def record_batch(self, record: dict[str, Any]) -> None:
        row = {k: record.get(k) for k in BATCH_COLUMNS}
        for key in ("timings", "top_rules"):
            value = row[key]
            if isinstance(value, str):
                row[key] = json.loads(value)
        if row["as_of"] is not None:
            row["as_of"] = str(row["as_of"])[:10]
        with self.engine.begin() as conn:
            stmt = upsert_insert(self.engine, batches).values(**row)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["batch_id"],
                set_={k: stmt.excluded[k] for k in row if k != "batch_id"},
            ))

    def sync_batches(self, warehouse_batches: Iterable[dict[str, Any]]) -> int:
        """Copy manifest rows the catalog lacks; returns how many were missing."""
        with self.engine.connect() as conn:
            known = set(conn.execute(select(batches.c.batch_id)).scalars())
        missing = [b for b in warehouse_batches if b["batch_id"] not in known]
        for record in missing:
            self.record_batch(record)
        return len(missing)

    def list_batches(self, dataset: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = select(batches).order_by(batches.c.started_at.desc()).limit(limit)
        if dataset:
            query = query.where(batches.c.dataset == dataset)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def get_batch(self, batch_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(batches).where(batches.c.batch_id == batch_id)).first()
        return dict(row._mapping) if row else None

    def list_datasets(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(datasets)
                                                           .order_by(datasets.c.name))]

    def get_dataset(self, name: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(datasets).where(datasets.c.name == name)).first()
            if row is None:
                known = list(conn.execute(select(datasets.c.name)).scalars())
                raise DatasetUnknown(name, known)
        return dict(row._mapping)
