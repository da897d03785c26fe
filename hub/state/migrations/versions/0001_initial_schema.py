"""The state store as the release before migrations left it (revision 1).

A frozen copy of that schema, independent of today's table definitions. It creates only what
is missing, so the same revision starts a new store and adopts one made by the previous
release (its tables kept as they are, with their rows; tables that release created lazily, and
indexes, added). An evidence log still in the retired thirteen-column layout is moved to the
`body` layout with every hash unchanged, so the chain and its signed checkpoints stay valid.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HASHED_FIELDS = ("seq", "at", "request_id", "actor", "role", "scope", "action", "purpose",
                 "resident_key", "outcome", "detail", "prev_hash")
RETIRED = "audit_events_retired"
_COPY_ROWS = 20_000
_canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
SQLITE_GUARDS = (
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
)


def _body_item(index: int, dialect: str) -> sa.Computed:
    sql = (f"((body)::jsonb ->> {index})" if dialect == "postgresql"
           else f"json_extract(body, '$[{index}]')")
    # VIRTUAL on SQLite (nothing stored twice); STORED on PostgreSQL, said outright: its
    # VIRTUAL columns (PostgreSQL 18) cannot be indexed.
    return sa.Computed(sa.text(sql), persisted=True if dialect == "postgresql" else None)


def _schema(dialect: str) -> sa.MetaData:
    m = sa.MetaData()
    C, tz = sa.Column, sa.DateTime(timezone=True)  # noqa: N806
    sa.Table("catalog_datasets", m,
             C("name", sa.String(64), primary_key=True), C("title", sa.Text, nullable=False),
             C("owner", sa.String(64), nullable=False), C("kind", sa.String(16), nullable=False),
             C("sharing", sa.String(16), nullable=False), C("update_frequency_days", sa.Integer),
             C("current_version", sa.String(32), nullable=False),
             C("entry", sa.JSON, nullable=False), C("updated_at", tz, nullable=False))
    sa.Table("catalog_contract_versions", m,
             C("dataset", sa.String(64), primary_key=True),
             C("version", sa.String(32), primary_key=True), C("entry", sa.JSON, nullable=False),
             C("registered_at", tz, nullable=False))
    sa.Table("catalog_batches", m,
             C("batch_id", sa.String(96), primary_key=True),
             C("dataset", sa.String(64), nullable=False, index=True),
             C("source", sa.String(96), nullable=False),
             C("department", sa.String(64), nullable=False),
             C("location", sa.Text, nullable=False),
             C("content_sha256", sa.String(64), nullable=False),
             C("contract_version", sa.String(32), nullable=False),
             C("grid_scheme", sa.String(64)), C("rows_read", sa.BigInteger, nullable=False),
             C("rows_loaded", sa.BigInteger, nullable=False),
             C("rows_quarantined", sa.BigInteger, nullable=False),
             C("outcome", sa.String(16), nullable=False), C("reason", sa.Text),
             C("as_of", sa.String(10)), C("started_at", tz, nullable=False),
             C("finished_at", tz, nullable=False), C("timings", sa.JSON),
             C("top_rules", sa.JSON))
    sa.Table("quality_batches", m,
             C("batch_id", sa.String(96), primary_key=True),
             C("dataset", sa.String(64), nullable=False, index=True),
             C("department", sa.String(64)), C("as_of", sa.String(10)),
             C("evaluated_at", tz, nullable=False),
             C("rows_evaluated", sa.BigInteger, nullable=False),
             C("expectations", sa.Integer, nullable=False),
             C("failed", sa.Integer, nullable=False), C("score", sa.Float, nullable=False),
             C("seconds", sa.Float), C("result", sa.JSON, nullable=False))
    sa.Table("quality_findings", m,
             C("finding_id", sa.String(64), primary_key=True),
             C("kind", sa.String(48), nullable=False, index=True),
             C("resident_key", sa.String(128), nullable=False),
             C("datasets", sa.JSON, nullable=False), C("departments", sa.JSON, nullable=False),
             C("detail", sa.Text, nullable=False),
             C("status", sa.String(16), nullable=False, index=True),
             C("first_seen", tz, nullable=False), C("last_seen", tz, nullable=False),
             C("resolved_at", tz))
    sa.Table("view_state", m,
             C("name", sa.String(32), primary_key=True),
             C("generation", sa.Integer, nullable=False),
             C("published_at", tz, nullable=False), C("summary", sa.Text, nullable=False))
    sa.Table("view_residents", m,
             C("generation", sa.Integer, primary_key=True),
             C("resident_key", sa.String(64), primary_key=True),
             C("household_key", sa.String(64)), C("street_code", sa.String(9)),
             C("community_code", sa.String(12)), C("grid_code", sa.String(15)),
             C("special_groups", sa.Text, nullable=False),
             C("has_overlap", sa.Boolean, nullable=False),
             C("has_missed_benefit", sa.Boolean, nullable=False),
             C("masked_name", sa.String(64)), C("age_band", sa.String(8)),
             C("document", sa.Text, nullable=False), C("updated_at", tz, nullable=False),
             sa.Index("ix_view_residents_grid", "generation", "grid_code", "resident_key"),
             sa.Index("ix_view_residents_household", "generation", "household_key"))
    sa.Table("view_households", m,
             C("generation", sa.Integer, primary_key=True),
             C("household_key", sa.String(64), primary_key=True),
             C("street_code", sa.String(9)), C("document", sa.Text, nullable=False),
             C("updated_at", tz, nullable=False))
    sa.Table("view_unmapped_codes", m,
             C("generation", sa.Integer, primary_key=True),
             C("dataset", sa.String(64), primary_key=True),
             C("scheme", sa.String(64), primary_key=True),
             C("code", sa.String(64), primary_key=True),
             C("rows", sa.BigInteger, nullable=False),
             C("residents", sa.BigInteger, nullable=False))
    sa.Table("upload_jobs", m,
             C("job_id", sa.String(40), primary_key=True),
             C("dataset", sa.String(64), nullable=False, index=True),
             C("source", sa.String(96), nullable=False),
             C("source_path", sa.Text, nullable=False), C("inbox_path", sa.Text, nullable=False),
             C("bytes", sa.BigInteger, nullable=False),
             C("submitted_by", sa.String(64), nullable=False),
             C("status", sa.String(16), nullable=False, index=True),
             C("batch_id", sa.String(96), index=True), C("outcome", sa.String(24)),
             C("rows_read", sa.BigInteger), C("rows_loaded", sa.BigInteger),
             C("rows_quarantined", sa.BigInteger), C("reason", sa.Text),
             C("top_rules", sa.JSON), C("created_at", tz, nullable=False),
             C("started_at", tz), C("finished_at", tz))
    sa.Table("upload_issues", m,
             C("job_id", sa.String(40), nullable=False),
             C("source_row", sa.BigInteger, nullable=False),
             C("column_name", sa.String(128), nullable=False),
             C("rule", sa.String(128), nullable=False),
             C("severity", sa.String(16), nullable=False),
             sa.Index("ix_upload_issues_job", "job_id", "source_row"))
    sa.Table("export_jobs", m,
             C("job_id", sa.String(40), primary_key=True),
             C("dataset", sa.String(64), nullable=False),
             C("recipient", sa.String(64), nullable=False), C("k", sa.Integer, nullable=False),
             C("l", sa.Integer, nullable=False), C("cell_threshold", sa.Integer, nullable=False),
             C("format", sa.String(8), nullable=False),
             C("requested_by", sa.String(64), nullable=False, index=True),
             C("status", sa.String(16), nullable=False, index=True),
             C("release_id", sa.String(64)), C("file_path", sa.Text), C("report", sa.JSON),
             C("reason", sa.Text), C("created_at", tz, nullable=False), C("started_at", tz),
             C("finished_at", tz))
    sa.Table("api_tokens", m,
             C("token_id", sa.String(32), primary_key=True),
             C("name", sa.String(100), nullable=False), C("role", sa.String(32), nullable=False),
             C("scope", sa.Text, nullable=False), C("token_hmac", sa.String(64), nullable=False),
             C("created_at", sa.String(32), nullable=False), C("revoked_at", sa.String(32)))
    types = {"at": sa.String(32), "request_id": sa.String(64), "actor": sa.String(160),
             "role": sa.String(32), "scope": sa.Text(), "action": sa.String(64),
             "purpose": sa.String(32), "resident_key": sa.String(128),
             "outcome": sa.String(64), "detail": sa.Text(), "prev_hash": sa.String(64)}
    sa.Table("audit_events", m,
             C("seq", sa.Integer, primary_key=True, autoincrement=False),
             C("body", sa.Text, nullable=False), C("hash", sa.String(64), nullable=False),
             *[C(name, type_, _body_item(HASHED_FIELDS.index(name), dialect))
               for name, type_ in types.items()],
             sa.Index("ix_audit_events_resident_key", "resident_key"),
             sa.Index("ix_audit_events_actor", "actor", "at"))
    return m


def _retire_old_audit_layout(bind: sa.Connection) -> sa.Table | None:
    """Rename a thirteen-column log out of the way (its indexes and triggers dropped, their
    names belong to the new table); the table to copy from afterwards, or None."""
    inspector = sa.inspect(bind)
    if not inspector.has_table("audit_events"):
        return None
    if "body" in {c["name"] for c in inspector.get_columns("audit_events")}:
        return None
    for index in inspector.get_indexes("audit_events"):
        op.drop_index(str(index["name"]), table_name="audit_events")
    if bind.dialect.name == "sqlite":
        for (name,) in bind.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = "
                "'audit_events'").all():
            bind.exec_driver_sql(f'DROP TRIGGER "{name}"')
    op.rename_table("audit_events", RETIRED)
    return sa.Table(RETIRED, sa.MetaData(), autoload_with=bind)


def _plain(value: object) -> object:
    # A value someone stored as a blob: kept as text, so that verify reports the record.
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _move_audit_records(bind: sa.Connection, retired: sa.Table, target: sa.Table) -> None:
    columns = [retired.c[name] for name in (*HASHED_FIELDS, "hash")]
    result = bind.execute(sa.select(*columns).order_by(retired.c.seq))
    while batch := result.fetchmany(_COPY_ROWS):
        bind.execute(sa.insert(target), [
            {"seq": row[0], "body": _canonical([_plain(v) for v in row[:-1]]),
             "hash": _plain(row[-1])} for row in batch])
    op.drop_table(RETIRED)


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    retired = _retire_old_audit_layout(bind)
    inspector = sa.inspect(bind)
    for table in _schema(dialect).sorted_tables:
        if not inspector.has_table(table.name):
            table.create(bind)
            continue
        present = {ix["name"] for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                index.create(bind)
    if retired is not None:
        _move_audit_records(bind, retired, _schema(dialect).tables["audit_events"])
    if dialect == "sqlite":
        for ddl in SQLITE_GUARDS:
            bind.exec_driver_sql(ddl)


def downgrade() -> None:
    raise NotImplementedError("the state store is not downgraded: restore a backup instead")
