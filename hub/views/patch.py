"""Rewrite changed residents and households inside the current generation (incremental views).

Each partition (hub.views.partition: whole households) is replaced in one state-store
transaction: its residents' rows and its households' rows are deleted and the recomputed ones
inserted. A reader resolves the current generation and reads a resident or household in one
statement, so it sees a household and its members all before or all after the change, never
half of each. Households are assigned to a partition by the same hash as their members, so a
household that lost every member is deleted by exactly one partition's transaction.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import duckdb
from sqlalchemy import Connection, Engine, delete, func, select, update

from hub.views.partition import part_of_sql
from hub.views.publish import (
    CURRENT,
    HOUSEHOLDS_SQL,
    RESIDENTS_SQL,
    UNMAPPED_SQL,
    insert_batches,
)
from hub.views.store import view_households, view_residents, view_state, view_unmapped_codes

_CHUNK = 500


def _delete_keys(conn: Connection, column: Any, generation_column: Any, generation: int,
                 keys: list[str]) -> None:
    table = column.table
    for i in range(0, len(keys), _CHUNK):
        conn.execute(delete(table).where(generation_column == generation,
                                         column.in_(keys[i:i + _CHUNK])))


def _insert(conn: Connection, engine: Engine, con: duckdb.DuckDBPyConnection, sql: str,
            table: Any, extra: dict[str, Any]) -> int:
    rows = 0
    for statement, params in insert_batches(engine, con, sql, table, extra):
        conn.exec_driver_sql(statement, params)
        rows += len(params)
    return rows


def patch_partition(engine: Engine, con: duckdb.DuckDBPyConnection, generation: int,
                    part: int, parts: int) -> dict[str, int]:
    """Replace, in one transaction, the residents of TEMP table `scope` and the households of
    `affected_households` in partition `part` with TEMP tables resident_views and
    household_views."""
    residents = [r[0] for r in con.execute("SELECT resident_key FROM scope").fetchall()]
    households = [r[0] for r in con.execute(
        f"SELECT household_key FROM affected_households "
        f"WHERE {part_of_sql('household_key', parts)} = {part}").fetchall()]
    extra = {"generation": generation, "updated_at": datetime.now(UTC)}
    r, h = view_residents.c, view_households.c
    with engine.begin() as conn:
        _delete_keys(conn, r.resident_key, r.generation, generation, residents)
        _delete_keys(conn, h.household_key, h.generation, generation, households)
        counts = {"residents": _insert(conn, engine, con, RESIDENTS_SQL, view_residents, extra),
                  "households": _insert(conn, engine, con, HOUSEHOLDS_SQL, view_households,
                                        extra)}
    return counts


def patch_summary(engine: Engine, con: duckdb.DuckDBPyConnection, generation: int,
                  summary: dict[str, Any]) -> dict[str, Any]:
    """Replace the generation's unmapped codes (TEMP table unmapped_codes) and its summary
    with the published counts, in one transaction."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(delete(view_unmapped_codes)
                     .where(view_unmapped_codes.c.generation == generation))
        unmapped = _insert(conn, engine, con, UNMAPPED_SQL, view_unmapped_codes,
                           {"generation": generation})
        counts = {"unmapped_codes": unmapped, **{
            name: int(conn.execute(select(func.count()).select_from(t)
                                   .where(t.c.generation == generation)).scalar() or 0)
            for name, t in (("residents", view_residents), ("households", view_households))}}
        conn.execute(update(view_state).where(view_state.c.name == CURRENT).values(
            published_at=now, summary=json.dumps({**summary, **counts}, default=str,
                                                 sort_keys=True)))
    return {"generation": generation, **counts}
