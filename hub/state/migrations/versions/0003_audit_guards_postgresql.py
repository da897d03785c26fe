"""The evidence log refuses UPDATE, DELETE and TRUNCATE on PostgreSQL too (revision 3).

SQLite has had these guards since revision 1 (triggers); on PostgreSQL a trigger function
raises instead. Like SQLite's, they stop mistakes and the normal paths, not the owner of the
database: the hash chain and the checkpoints are what catch that.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRES_GUARDS = (
    "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$",
    "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for ddl in POSTGRES_GUARDS:
            op.execute(ddl)


def downgrade() -> None:
    raise NotImplementedError("the state store is not downgraded: restore a backup instead")
