"""Stream the computed views from DuckDB into the state store as a new generation.

See hub.views.store for the generation protocol. Rows travel in Arrow record batches of
`BATCH_ROWS` and are inserted with one executemany per batch and transaction, so neither
side holds a whole district in memory and the state store's write lock is held briefly.
A full publish writes its partitions (hub.views.partition) one after the other into the new
generation; hub.views.patch rewrites changed residents inside the current one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import duckdb
from sqlalchemy import Connection, Engine, Table, delete, func, insert, select, update

from hub.views.store import (
    GENERATION_TABLES,
    view_households,
    view_residents,
    view_state,
    view_unmapped_codes,
)

BATCH_ROWS = 20_000
CURRENT = "current"

RESIDENTS_SQL = """
    SELECT resident_key, household_key, street_code, community_code, grid_code,
           CASE WHEN len(special_groups) = 0 THEN ''
                ELSE ';' || array_to_string(special_groups, ';') || ';' END AS special_groups,
           has_overlap, has_missed_benefit, masked_name, age_band,
           CAST(document AS VARCHAR) AS document
    FROM resident_views ORDER BY resident_key"""
HOUSEHOLDS_SQL = ("SELECT household_key, street_code, CAST(document AS VARCHAR) AS document "
                   "FROM household_views ORDER BY household_key")
UNMAPPED_SQL = "SELECT dataset, scheme, code, rows, residents FROM unmapped_codes"


def _batches(con: duckdb.DuckDBPyConnection, sql: str) -> Iterator[list[dict[str, Any]]]:
    reader = con.sql(sql).to_arrow_reader(BATCH_ROWS)
    for batch in reader:
        yield batch.to_pylist()


def _next_generation(conn: Connection) -> int:
    highest = [conn.execute(select(func.max(t.c.generation))).scalar() for t in
               (*GENERATION_TABLES, view_state)]
    return max([h for h in highest if h is not None], default=0) + 1


def insert_batches(engine: Engine, con: duckdb.DuckDBPyConnection, sql: str, table: Table,
                   extra: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    """(INSERT statement, parameter rows) per batch of the rows `sql` selects in DuckDB."""
    # The INSERT is compiled once and run on the driver with plain tuples: SQLAlchemy's
    # per-row parameter processing would otherwise cost more than the database's work.
    compiled = insert(table).compile(dialect=engine.dialect)
    extra = {k: _bind(table, k, v, engine) for k, v in extra.items()}
    order = list(compiled.positiontup or []) if compiled.positional else []
    for batch in _batches(con, sql):
        for row in batch:
            row.update(extra)
        params: list[Any] = [tuple(r[k] for k in order) for r in batch] if order else batch
        yield str(compiled), params


def _copy(engine: Engine, con: duckdb.DuckDBPyConnection, sql: str, table: Table,
          extra: dict[str, Any]) -> int:
    rows = 0
    for statement, params in insert_batches(engine, con, sql, table, extra):
        with engine.begin() as conn:
            conn.exec_driver_sql(statement, params)
        rows += len(params)
    return rows


def _bind(table: Table, column: str, value: Any, engine: Engine) -> Any:
    processor = table.c[column].type.bind_processor(engine.dialect)
    return processor(value) if processor else value


def current_generation(conn: Connection) -> int | None:
    return conn.execute(select(view_state.c.generation)
                        .where(view_state.c.name == CURRENT)).scalar()


class GenerationWriter:
    """A full publish: a new generation written partition by partition, then the flip."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.now = datetime.now(UTC)
        with engine.begin() as conn:
            self.generation = _next_generation(conn)
            # Leftovers of a publish that died before its flip carry this number: clear them.
            for table in GENERATION_TABLES:
                conn.execute(delete(table).where(table.c.generation >= self.generation))
        self.counts = {"residents": 0, "households": 0}

    def add_partition(self, con: duckdb.DuckDBPyConnection) -> None:
        """Copy the TEMP tables resident_views and household_views of `con`."""
        extra = {"generation": self.generation, "updated_at": self.now}
        self.counts["residents"] += _copy(self.engine, con, RESIDENTS_SQL, view_residents,
                                          extra)
        self.counts["households"] += _copy(self.engine, con, HOUSEHOLDS_SQL, view_households,
                                           extra)

    def finish(self, con: duckdb.DuckDBPyConnection, summary: dict[str, Any]) -> dict[str, Any]:
        """Copy TEMP table unmapped_codes, flip to the new generation, drop old ones."""
        counts = {**self.counts, "unmapped_codes": _copy(
            self.engine, con, UNMAPPED_SQL, view_unmapped_codes,
            {"generation": self.generation})}
        state = {"generation": self.generation, "published_at": self.now,
                 "summary": json.dumps({**summary, **counts}, default=str, sort_keys=True)}
        with self.engine.begin() as conn:
            previous = current_generation(conn)
            if previous is None:
                conn.execute(insert(view_state).values(name=CURRENT, **state))
            else:
                conn.execute(update(view_state).where(view_state.c.name == CURRENT)
                             .values(**state))
        if previous is not None:
            for table in GENERATION_TABLES:
                with self.engine.begin() as conn:
                    conn.execute(delete(table).where(table.c.generation < previous))
        return {"generation": self.generation, **counts}


def publish_views(engine: Engine, con: duckdb.DuckDBPyConnection,
                  summary: dict[str, Any]) -> dict[str, Any]:
    """Publish the TEMP tables resident_views, household_views, unmapped_codes of `con` as
    one new generation."""
    writer = GenerationWriter(engine)
    writer.add_partition(con)
    return writer.finish(con, summary)
