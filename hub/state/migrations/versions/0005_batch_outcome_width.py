"""A batch outcome may be `awaiting_confirmation` (revision 5): the column widens to 32.

A snapshot that would drop too much of its source is held until a person confirms or
discards it (`hub batches confirm|discard`); PostgreSQL enforces the column's length.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_batches") as batch:  # SQLite: the table is rebuilt
        batch.alter_column("outcome", existing_type=sa.String(16), type_=sa.String(32),
                           existing_nullable=False)


def downgrade() -> None:
    raise NotImplementedError("the state store is not downgraded: restore a backup instead")
