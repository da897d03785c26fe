"""The published views in the state store (SQLAlchemy Core; SQLite in WAL, or Postgres).

Views are published by generation: the worker writes a complete new generation next to the
current one in short batches (readers keep using the current one, and an audit append never
waits long for the write lock), then flips `view_state.generation` in one tiny transaction,
and only then deletes generations older than the previous one. A reader resolves the current
generation once per request and reads only its rows, so it never sees a half-published
state; the previous generation survives one more publish for readers that resolved it just
before a flip.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

view_state = Table(
    "view_state", metadata,
    Column("name", String(32), primary_key=True),  # 'current'
    Column("generation", Integer, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("summary", Text, nullable=False),  # JSON: counts, as-of dates, rule files
)

view_residents = Table(
    "view_residents", metadata,
    Column("generation", Integer, primary_key=True),
    Column("resident_key", String(64), primary_key=True),
    Column("household_key", String(64)),
    Column("street_code", String(9)),
    Column("community_code", String(12)),
    Column("grid_code", String(15)),
    Column("special_groups", Text, nullable=False),  # ';a;b;' so LIKE '%;a;%' matches one
    Column("has_overlap", Boolean, nullable=False),
    Column("has_missed_benefit", Boolean, nullable=False),
    Column("masked_name", String(64)),
    Column("age_band", String(8)),
    Column("document", Text, nullable=False),  # JSON
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_view_residents_grid", "generation", "grid_code", "resident_key"),
    Index("ix_view_residents_household", "generation", "household_key"),
)

view_households = Table(
    "view_households", metadata,
    Column("generation", Integer, primary_key=True),
    Column("household_key", String(64), primary_key=True),
    Column("street_code", String(9)),
    Column("document", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

view_unmapped_codes = Table(
    "view_unmapped_codes", metadata,
    Column("generation", Integer, primary_key=True),
    Column("dataset", String(64), primary_key=True),
    Column("scheme", String(64), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("rows", BigInteger, nullable=False),
    Column("residents", BigInteger, nullable=False),
)

GENERATION_TABLES = (view_residents, view_households, view_unmapped_codes)


def create_view_tables(engine: Engine) -> None:
    metadata.create_all(engine)
