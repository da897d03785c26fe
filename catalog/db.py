"""The state store's engine and its one schema: SQLite in WAL mode, or PostgreSQL, behind a
SQLAlchemy URL.

SQLite answers key lookups in microseconds and lets many API processes read while the
pipeline worker writes; WAL keeps readers off the writer's back. PostgreSQL
(`postgresql+psycopg://`) serves API processes on several hosts.

`metadata` is the one MetaData of the whole state store: catalog's tables are defined on it
here (catalog.store, catalog.quality_store) and the hub's rooms add theirs (hub.state.tables),
since catalog may not import the hub. Tables are created and changed by the Alembic migrations
in hub.state, never by `create_all`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url

from catalog.errors import CatalogUnavailable

metadata = MetaData()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_state_engine(url: str) -> Engine:
    parsed = make_url(url)
    safe = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogUnavailable(safe, f"cannot create folder {folder}") from exc
    engine = create_engine(url, future=True)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine
