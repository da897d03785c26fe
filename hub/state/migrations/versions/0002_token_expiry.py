"""Tokens expire: `api_tokens.expires_at` (revision 2).

Tokens made before this revision had no end; they get 90 days from the upgrade (the default
lifetime of a new token), so that an upgrade locks no program out at once and every token
still ends. `hub token list` shows the date; replace them before it.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GRANTED_DAYS = 90


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("expires_at", sa.String(32), nullable=True))
    until = (datetime.now(UTC) + timedelta(days=GRANTED_DAYS)).isoformat(timespec="seconds")
    op.execute(sa.text("UPDATE api_tokens SET expires_at = :until WHERE expires_at IS NULL")
               .bindparams(until=until.replace("+00:00", "Z")))
    with op.batch_alter_table("api_tokens") as batch:  # SQLite: the table is rebuilt
        batch.alter_column("expires_at", existing_type=sa.String(32), nullable=False)


def downgrade() -> None:
    raise NotImplementedError("the state store is not downgraded: restore a backup instead")
