"""Bringing a state store to the newest schema: Alembic, run from code (no alembic.ini).

`open_state_store` is how every command and process opens the state store for writing: the
engine (catalog.db: WAL and busy timeout on SQLite) and, unless the store is already at the
newest revision, the pending migrations of hub/state/migrations. A store at head costs one
read of `alembic_version`. Several processes may start at once (API workers, a CLI command
beside `hub serve`, two hosts on one PostgreSQL): the upgrade runs under the store's own write
lock (BEGIN IMMEDIATE on SQLite, a transaction-level advisory lock on PostgreSQL), re-reads the
revision there, and commits the schema change and the new revision together.

A store made before migrations existed (tables, no `alembic_version`) is upgraded in place:
revision 0001 creates only what is missing and moves a retired audit-log layout over.

Alembic itself is imported only when a store needs upgrading: every process opens the store,
and at head one query answers (HEAD_REVISION names the newest migration; a test holds it to
Alembic's own head).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from catalog.db import create_state_engine
from hub.errors import StateStoreError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
HEAD_REVISION = "0009"
# pg_advisory_xact_lock key of schema upgrades: "hubstate" in ASCII, as a signed bigint.
_ADVISORY_KEY = int.from_bytes(b"hubstate", "big", signed=True)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration without a file: the migrations folder and the connection."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest revision as Alembic reads it from the migrations folder."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the package ships its migrations
    return head


def current_revision(engine: Engine) -> str | None:
    """The store's revision; None for an empty store or one made before migrations."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "alembic_version"):
            return None
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if revision is None else str(revision)


@contextmanager
def _write_locked(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that holds the store's schema-change lock."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            dbapi = conn.connection.driver_connection
            saved = dbapi.isolation_level  # type: ignore[union-attr]
            dbapi.isolation_level = None  # type: ignore[union-attr]  # our BEGIN, not the driver's
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
                conn.commit()
            finally:
                if dbapi.in_transaction:  # type: ignore[union-attr]
                    dbapi.rollback()  # type: ignore[union-attr]
                dbapi.isolation_level = saved  # type: ignore[union-attr]
        else:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
            yield conn
            conn.commit()


def upgrade_state(engine: Engine) -> str:
    """Apply every pending migration; returns the revision the store is at (head)."""
    url = engine.url.render_as_string(hide_password=True)
    try:
        if current_revision(engine) == HEAD_REVISION:
            return HEAD_REVISION
        from alembic import command

        with _write_locked(engine) as conn:
            command.upgrade(alembic_config(conn), "head")
    except SQLAlchemyError as exc:
        raise StateStoreError(url, f"cannot be brought to schema revision {HEAD_REVISION} "
                              f"({exc.__class__.__name__}); check HUB_STATE_URL, that the "
                              "store is reachable and writable, and the log above") from exc
    return HEAD_REVISION


def open_state_store(url: str) -> Engine:
    """The state store's engine, its schema at the newest revision."""
    engine = create_state_engine(url)
    try:
        upgrade_state(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
