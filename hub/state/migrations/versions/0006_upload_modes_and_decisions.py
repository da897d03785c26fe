"""Uploads carry their load mode and what their batch replaced; a held snapshot is confirmed
or discarded through the API (revision 6).

`upload_jobs` gains the mode the department asked for and the batch result's `load_mode`,
`replaced` and `findings`; `batch_decisions` queues a department's confirm or discard of a
held batch for the pipeline worker (the API never writes the warehouse).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upload_jobs") as batch:
        batch.add_column(sa.Column("mode", sa.String(16)))
        batch.add_column(sa.Column("load_mode", sa.String(16)))
        batch.add_column(sa.Column("replaced", sa.JSON))
        batch.add_column(sa.Column("findings", sa.JSON))
    op.create_table(
        "batch_decisions",
        sa.Column("decision_id", sa.String(40), primary_key=True),
        sa.Column("batch_id", sa.String(96), nullable=False),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32)),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_batch_decisions_batch_id", "batch_decisions", ["batch_id"])
    op.create_index("ix_batch_decisions_status", "batch_decisions", ["status"])


def downgrade() -> None:
    raise NotImplementedError("the state store is not downgraded: restore a backup instead")
