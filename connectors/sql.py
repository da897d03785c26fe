"""A department database read with one SELECT (any SQLAlchemy URL; the driver must be
installed). The hub only reads: the query must be a single SELECT, SQLite files are opened
read-only and other databases get a read-only transaction where the dialect allows it.
Rows are fetched `chunk_rows` at a time from a server-side cursor where the driver has one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, make_url

from connectors.base import RawChunk
from connectors.cells import check_header_names, frame_from_values
from connectors.env import expand_env
from connectors.errors import SourceInvalid, SourceUnavailable
from connectors.source import SourceSpec

_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
# Words that have no place in a read: a data-modifying CTE, SELECT ... FOR UPDATE, DDL.
_WRITES = re.compile(r"\b(insert|update|delete|merge|upsert|drop|alter|create|truncate|grant|"
                     r"revoke|attach|detach|pragma|vacuum|copy|call|exec|execute|lock)\b", re.I)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")


def check_select(source: str, query: str) -> str:
    """The query without a trailing ';' if it is one read-only SELECT; SourceInvalid if not."""
    bare = _QUOTED.sub("''", _COMMENTS.sub(" ", query)).strip().rstrip(";").strip()
    if not re.match(r"(select|with)\b", bare, re.I):
        raise SourceInvalid(source, "`sql.query` must be a SELECT (or WITH ... SELECT)")
    if ";" in bare:
        raise SourceInvalid(source, "`sql.query` must be one statement (no ';' inside)")
    word = _WRITES.search(bare)
    if word:
        raise SourceInvalid(source, f"`sql.query` contains '{word.group(1)}'; the hub only "
                                    "reads: use a plain SELECT")
    return query.strip().rstrip(";").strip()


def _db_problem(exc: BaseException) -> str:
    """A driver message that is safe to show: quoted text (possibly a value) and long digit
    runs (possibly an ID number) are masked."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).splitlines() or [""])[0][:200]
    first = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", first)
    first = re.sub(r"\d{6,}", "…", first)
    return f"{orig.__class__.__name__}: {first}" if first else orig.__class__.__name__


class SqlReader:
    def __init__(self, spec: SourceSpec) -> None:
        assert spec.sql is not None  # guaranteed by SourceSpec's validator
        self._source = f"source '{spec.name}'"
        try:
            url = make_url(expand_env(spec.sql.url, self._source, "sql.url"))
        except sa.exc.ArgumentError as exc:
            raise SourceInvalid(self._source, "`sql.url` is not a SQLAlchemy URL") from exc
        self.location = url.render_as_string(hide_password=True)
        self._url = self._read_only_url(url)
        self._query = check_select(self._source, spec.sql.query)
        self._headers: list[str] | None = None

    @staticmethod
    def _read_only_url(url: URL) -> URL:
        db = url.database
        if url.get_backend_name() == "sqlite" and db and db != ":memory:" and \
                not db.startswith("file:"):
            # mode=ro also stops SQLite from creating an empty database for a wrong path.
            return url.set(database=f"file:{db}", query={**url.query, "mode": "ro",
                                                         "uri": "true"})
        return url

    def _connect(self) -> tuple[sa.Engine, Connection]:
        try:
            engine = sa.create_engine(self._url)
        except (ImportError, sa.exc.NoSuchModuleError) as exc:
            raise SourceInvalid(self._source, f"no database driver for {self._url.drivername}; "
                                              "install it where the hub runs") from exc
        try:
            conn = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            raise SourceUnavailable(self.location, f"cannot connect ({_db_problem(exc)})") from exc
        try:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            elif engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA query_only = ON")
        except sa.exc.SQLAlchemyError as exc:
            conn.close()
            engine.dispose()
            raise SourceUnavailable(self.location, f"cannot start a read-only session "
                                                   f"({_db_problem(exc)})") from exc
        return engine, conn

    def _execute(self, conn: Connection, query: str) -> sa.CursorResult[Any]:
        try:
            return conn.execution_options(stream_results=True).execute(sa.text(query))
        except sa.exc.SQLAlchemyError as exc:
            raise SourceUnavailable(self.location, f"the query failed ({_db_problem(exc)}); "
                                                   "check `sql.query`") from exc

    def headers(self) -> list[str]:
        if self._headers is None:
            engine, conn = self._connect()
            try:
                # The query's columns without running it over the whole table; a database
                # that refuses the wrapper (ORDER BY in a subquery) runs the query itself.
                try:
                    result = self._execute(conn, f"SELECT * FROM ({self._query}) AS q WHERE 1 = 0")
                except SourceUnavailable:
                    conn.rollback()
                    result = self._execute(conn, self._query)
                self._headers = list(result.keys())
                result.close()
            finally:
                conn.close()
                engine.dispose()
            check_header_names(self.location, self._headers)
        return list(self._headers)

    def chunks(self, chunk_rows: int) -> Iterator[RawChunk]:
        engine, conn = self._connect()
        try:
            result = self._execute(conn, self._query)
            keys = list(result.keys())
            check_header_names(self.location, keys)
            first = 1
            emitted = False
            while True:
                try:
                    rows = result.fetchmany(chunk_rows)
                except sa.exc.SQLAlchemyError as exc:
                    raise SourceUnavailable(self.location, f"reading rows failed after row "
                                            f"{first - 1} ({_db_problem(exc)})") from exc
                if not rows and emitted:
                    break
                columns = dict(zip(keys, (list(c) for c in zip(*rows, strict=True)),
                                   strict=True)) if rows else {k: [] for k in keys}
                index = np.arange(first, first + len(rows), dtype=np.int64)
                first += len(rows)
                emitted = True
                yield RawChunk(frame_from_values(columns, index))
                if not rows:
                    break
            result.close()
        finally:
            with suppress(sa.exc.SQLAlchemyError):
                conn.rollback()  # nothing was written; end the read-only transaction
            conn.close()
            engine.dispose()
