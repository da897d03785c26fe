"""One warehouse transaction around a piece of work: committed whole, or rolled back and the
error raised again."""

from __future__ import annotations

from collections.abc import Callable

import duckdb


def in_transaction(con: duckdb.DuckDBPyConnection, work: Callable[[], None]) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        work()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
