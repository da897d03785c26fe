"""Quality results per batch and cross-department findings, in the state store.

The pipeline worker writes a value-free result per checked batch (expectations, counts,
shares, score; never a resident's value) and refreshes the consistency findings; reports, the
CLI and the API read them from here without touching the warehouse. The tables belong to the
state store's one MetaData (catalog.db) and are created by its migrations (hub.state).

A finding is open while the conflict is still in the latest data and becomes `resolved` the
first time a refresh of its kind no longer sees it (the owner corrected it at source).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    String,
    Table,
    Text,
    select,
    update,
)

from catalog.db import metadata
from catalog.store import upsert_insert

quality_batches = Table(
    "quality_batches", metadata,
    Column("batch_id", String(96), primary_key=True),
    Column("dataset", String(64), nullable=False, index=True),
    Column("department", String(64)),
    Column("as_of", String(10)),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
    Column("rows_evaluated", BigInteger, nullable=False),
    Column("expectations", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("seconds", Float),
    Column("result", JSON, nullable=False),
)

quality_findings = Table(
    "quality_findings", metadata,
    Column("finding_id", String(64), primary_key=True),
    Column("kind", String(48), nullable=False, index=True),
    Column("resident_key", String(128), nullable=False),
    Column("datasets", JSON, nullable=False),
    Column("departments", JSON, nullable=False),
    Column("detail", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
)

OPEN = "open"
RESOLVED = "resolved"


def finding_id(kind: str, resident_key: str, datasets: Iterable[str]) -> str:
    text = "|".join([kind, resident_key, *sorted(datasets)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _iso(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


class QualityStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record_batch_result(self, result: dict[str, Any]) -> None:
        """Store (or replace) one batch's value-free result."""
        expectations = result.get("expectations", [])
        row = {
            "batch_id": result["batch_id"], "dataset": result["dataset"],
            "department": result.get("department"), "as_of": result.get("as_of"),
            "evaluated_at": datetime.fromisoformat(result["evaluated_at"]),
            "rows_evaluated": int(result.get("rows_evaluated", 0)),
            "expectations": len(expectations),
            "failed": sum(1 for e in expectations if e.get("success") is False),
            "score": float(result["score"]), "seconds": result.get("seconds"),
            "result": result,
        }
        with self.engine.begin() as conn:
            stmt = upsert_insert(self.engine, quality_batches).values(**row)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["batch_id"],
                set_={k: stmt.excluded[k] for k in row if k != "batch_id"}))

    def batch_result(self, batch_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(quality_batches.c.result)
                               .where(quality_batches.c.batch_id == batch_id)).first()
        return dict(row[0]) if row else None

    def batch_results(self, dataset: str | None = None) -> list[dict[str, Any]]:
        query = select(quality_batches.c.result).order_by(quality_batches.c.evaluated_at)
        if dataset:
            query = query.where(quality_batches.c.dataset == dataset)
        with self.engine.connect() as conn:
            return [dict(r[0]) for r in conn.execute(query)]

    def score_history(self, dataset: str) -> list[dict[str, Any]]:
        """Oldest first: batch, as-of date, when it was checked, score and failures."""
        cols = quality_batches.c
        query = (select(cols.batch_id, cols.as_of, cols.evaluated_at, cols.score,
                        cols.expectations, cols.failed, cols.rows_evaluated)
                 .where(cols.dataset == dataset).order_by(cols.evaluated_at))
        with self.engine.connect() as conn:
            return [_iso(dict(r._mapping)) for r in conn.execute(query)]

    def refresh_findings(self, kinds: Iterable[str], findings: list[dict[str, Any]],
                         now: datetime | None = None) -> dict[str, int]:
        """Replace the open findings of `kinds` by `findings`; returns new/kept/resolved."""
        now = now or datetime.now(UTC)
        kinds = list(kinds)
        fresh = {finding_id(f["kind"], f["resident_key"], f["datasets"]): f for f in findings}
        table = quality_findings
        with self.engine.begin() as conn:
            known = {r.finding_id: r.status for r in conn.execute(
                select(table.c.finding_id, table.c.status).where(table.c.kind.in_(kinds)))}
            gone = [fid for fid, status in known.items() if status == OPEN and fid not in fresh]
            if gone:
                conn.execute(update(table).where(table.c.finding_id.in_(gone))
                             .values(status=RESOLVED, resolved_at=now))
            rows = [{"finding_id": fid, "kind": f["kind"], "resident_key": f["resident_key"],
                     "datasets": sorted(f["datasets"]), "departments": sorted(f["departments"]),
                     "detail": f["detail"], "status": OPEN, "first_seen": now,
                     "last_seen": now, "resolved_at": None} for fid, f in fresh.items()]
            for start in range(0, len(rows), 500):
                stmt = upsert_insert(self.engine, table).values(rows[start:start + 500])
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["finding_id"],
                    set_={"status": OPEN, "last_seen": now, "resolved_at": None,
                          "detail": stmt.excluded.detail,
                          "departments": stmt.excluded.departments}))
        new = sum(1 for fid in fresh if fid not in known)
        return {"new": new, "kept": len(fresh) - new, "resolved": len(gone)}

    def list_findings(self, status: str | None = OPEN, department: str | None = None,
                      dataset: str | None = None, kind: str | None = None,
                      limit: int | None = None) -> list[dict[str, Any]]:
        """Findings, oldest first; `department`/`dataset` keep those that involve it."""
        table = quality_findings
        query = select(table).order_by(table.c.kind, table.c.first_seen, table.c.finding_id)
        if status:
            query = query.where(table.c.status == status)
        if kind:
            query = query.where(table.c.kind == kind)
        with self.engine.connect() as conn:
            rows = [_iso(dict(r._mapping)) for r in conn.execute(query)]
        # JSON lists are filtered here: portable across SQLite and Postgres.
        if department:
            rows = [r for r in rows if department in r["departments"]]
        if dataset:
            rows = [r for r in rows if dataset in r["datasets"]]
        return rows[:limit] if limit is not None else rows

    def finding_counts(self, status: str = OPEN) -> list[dict[str, Any]]:
        """Per kind and datasets involved: how many findings (no residents)."""
        table = quality_findings
        # Counted here, not with GROUP BY: Postgres cannot group a JSON column.
        query = select(table.c.kind, table.c.datasets).where(table.c.status == status)
        counts: dict[tuple[str, tuple[str, ...]], int] = {}
        with self.engine.connect() as conn:
            for kind, datasets in conn.execute(query):
                key = (kind, tuple(datasets))
                counts[key] = counts.get(key, 0) + 1
        return [{"kind": k, "datasets": list(d), "findings": n}
                for (k, d), n in sorted(counts.items())]
