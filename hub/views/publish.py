"""Stream the computed views from DuckDB into the state store as a new generation.

See hub.views.store for the generation protocol. Rows travel in Arrow record batches of
`BATCH_ROWS` and are inserted with one executemany per batch and transaction, so neither
side holds a whole district in memory and the state store's write lock is held briefly.
A full publish writes its partitions (hub.views.partition) one after the other into the new
generation; hub.views.patch rewrites changed residents inside the current one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Connection, Engine, Table, and_, delete, func, insert, select, update

from hub.views.store import (
    GENERATION_TABLES,
    view_households,
    view_residents,
    view_state,
    view_unmapped_codes,
)

BATCH_ROWS = 20_000
CURRENT = "current"
DOCUMENT = "document"  # the JSON text column of view_residents and view_households

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


def _next_generation(conn: Connection) -> int:
    highest = [conn.execute(select(func.max(t.c.generation))).scalar() for t in
               (*GENERATION_TABLES, view_state)]
    return max([h for h in highest if h is not None], default=0) + 1


def arrow_inserts(engine: Engine, batches: Iterable[pa.RecordBatch], table: Table,
                  extra: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    """(INSERT statement, parameter rows) per Arrow batch, `extra` added to every row."""
    # The INSERT is compiled once and run on the driver with plain tuples, built column by
    # column: SQLAlchemy's per-row parameter processing would cost more than the database.
    compiled = insert(table).compile(dialect=engine.dialect)
    extra = {k: _bind(table, k, v, engine) for k, v in extra.items()}
    positional = list(compiled.positiontup or []) if compiled.positional else []
    names = positional or [c.name for c in table.columns]
    statement, as_utf8 = str(compiled), set()
    if engine.dialect.name == "sqlite" and DOCUMENT in names:
        statement, as_utf8 = _sqlite_insert(engine, table, names), {DOCUMENT}
    for batch in batches:
        n = batch.num_rows
        columns = [_values(batch.column(name), name in as_utf8) if name in batch.schema.names
                   else [extra[name]] * n for name in names]
        rows = list(zip(*columns, strict=True))
        params: list[Any] = rows if positional else [dict(zip(names, r, strict=True))
                                                     for r in rows]
        yield statement, params


def _values(column: pa.Array, as_utf8: bool) -> list[Any]:
    return column.cast(pa.binary()).to_pylist() if as_utf8 else column.to_pylist()


def _sqlite_insert(engine: Engine, table: Table, names: list[str]) -> str:
    """The INSERT with the document bound as its UTF-8 bytes and stored as TEXT (the same
    text): no Python str is decoded from Arrow's UTF-8 and encoded back per document."""
    quote = engine.dialect.identifier_preparer.quote
    values = ", ".join("CAST(? AS TEXT)" if name == DOCUMENT else "?" for name in names)
    return (f"INSERT INTO {engine.dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(quote(name) for name in names)}) VALUES ({values})")


def insert_batches(engine: Engine, con: duckdb.DuckDBPyConnection, sql: str, table: Table,
                   extra: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    """(INSERT statement, parameter rows) per batch of the rows `sql` selects in DuckDB."""
    yield from arrow_inserts(engine, con.sql(sql).to_arrow_reader(BATCH_ROWS), table, extra)


def _copy(conn: Connection, batches: Iterable[pa.RecordBatch], table: Table,
          extra: dict[str, Any]) -> int:
    """Insert the rows of `batches`, one transaction per batch."""
    rows = 0
    for statement, params in arrow_inserts(conn.engine, batches, table, extra):
        with conn.begin():
            conn.exec_driver_sql(statement, params)
        rows += len(params)
    return rows


def delete_generations(conn: Connection, table: Table, older_than: int) -> int:
    """Delete the rows of the generations below `older_than` in transactions of about
    BATCH_ROWS rows, each a range of the primary key: the write lock is held briefly and
    SQLite's log stays small, where one statement would log every page of a generation
    before its commit."""
    gen, key = table.c.generation, table.primary_key.columns.values()[1]
    deleted = 0
    while True:
        with conn.begin():
            generation = conn.execute(select(func.min(gen)).where(gen < older_than)).scalar()
            if generation is None:
                return deleted
            # The key that ends the next range; None: the rest of the generation.
            last = conn.execute(select(key).where(gen == generation).order_by(key)
                                .offset(BATCH_ROWS - 1).limit(1)).scalar()
            this = gen == generation if last is None else and_(gen == generation, key <= last)
            deleted += conn.execute(delete(table).where(this)).rowcount or 0


def _bind(table: Table, column: str, value: Any, engine: Engine) -> Any:
    processor = table.c[column].type.bind_processor(engine.dialect)
    return processor(value) if processor else value


def current_generation(conn: Connection) -> int | None:
    return conn.execute(select(view_state.c.generation)
                        .where(view_state.c.name == CURRENT)).scalar()


class GenerationWriter:
    """A full publish: a new generation written partition by partition, then the flip.

    A partition's rows are taken from DuckDB as Arrow tables and written by one writer
    thread while the caller computes the next partition (DuckDB and the database driver both
    release the GIL); the next partition's rows are taken once the previous one is written,
    so memory holds one partition's rows. The writer keeps one connection for the publish
    (on SQLite with a page cache of `BULK_CACHE_KIB`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.now = datetime.now(UTC)
        self._conn = engine.connect()
        try:
            self._cache = _bulk_cache(self._conn)
            # Above every generation written, a dead publish's leftovers included: those go
            # with the generations before the previous one, once this one is flipped.
            with self._conn.begin():
                self.generation = _next_generation(self._conn)
        except BaseException:
            self._conn.close()
            raise
        self.counts = {"residents": 0, "households": 0}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="views-writer")
        self._pending: Future[None] | None = None

    def add_partition(self, con: duckdb.DuckDBPyConnection) -> None:
        """Take the TEMP tables resident_views and household_views of `con` for writing."""
        self._wait()  # the previous partition written first: one partition's rows in memory
        residents = con.sql(RESIDENTS_SQL).to_arrow_table()
        households = con.sql(HOUSEHOLDS_SQL).to_arrow_table()
        self._pending = self._pool.submit(self._write, residents, households)

    def _write(self, residents: pa.Table, households: pa.Table) -> None:
        extra = {"generation": self.generation, "updated_at": self.now}
        self.counts["residents"] += _copy(self._conn, residents.to_batches(BATCH_ROWS),
                                          view_residents, extra)
        self.counts["households"] += _copy(self._conn, households.to_batches(BATCH_ROWS),
                                           view_households, extra)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()  # a failed write fails the publish here

    def close(self) -> None:
        """Stop the writer thread (after its current partition) and give back the
        connection; the generation stays unflipped unless `finish` ran."""
        self._pool.shutdown(wait=True)
        if not self._conn.closed:
            if self._cache is not None:  # the pooled connection keeps its usual cache
                self._conn.exec_driver_sql(f"PRAGMA cache_size={self._cache}")
            self._conn.close()

    def finish(self, con: duckdb.DuckDBPyConnection, summary: dict[str, Any]) -> dict[str, Any]:
        """Copy TEMP table unmapped_codes, flip to the new generation, drop old ones."""
        self._wait()
        unmapped = con.sql(UNMAPPED_SQL).to_arrow_reader(BATCH_ROWS)
        counts = {**self.counts, "unmapped_codes": _copy(
            self._conn, unmapped, view_unmapped_codes, {"generation": self.generation})}
        state = {"generation": self.generation, "published_at": self.now,
                 "summary": json.dumps({**summary, **counts}, default=str, sort_keys=True)}
        with self._conn.begin():
            previous = current_generation(self._conn)
            if previous is None:
                self._conn.execute(insert(view_state).values(name=CURRENT, **state))
            else:
                self._conn.execute(update(view_state).where(view_state.c.name == CURRENT)
                                   .values(**state))
        if previous is not None:
            for table in GENERATION_TABLES:
                delete_generations(self._conn, table, older_than=previous)
        return {"generation": self.generation, **counts}


# The writer's SQLite page cache: the new generation's index pages, touched in key order by
# each batch, stay in memory instead of being read back from the file (SQLite's default is
# 2 MiB). Bounded: it adds to the publishing process's memory.
BULK_CACHE_KIB = 32 * 1024


def _bulk_cache(conn: Connection) -> int | None:
    """Give an SQLite connection the bulk writer's page cache; its previous setting."""
    if conn.dialect.name != "sqlite":
        return None
    previous = int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or 0)
    conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    conn.commit()
    return previous


def publish_views(engine: Engine, con: duckdb.DuckDBPyConnection,
                  summary: dict[str, Any]) -> dict[str, Any]:
    """Publish the TEMP tables resident_views, household_views, unmapped_codes of `con` as
    one new generation."""
    writer = GenerationWriter(engine)
    try:
        writer.add_partition(con)
        return writer.finish(con, summary)
    finally:
        writer.close()
