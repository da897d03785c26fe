"""Linkage reviews: department rows without a usable ID whose best registry match is neither
sure nor unlikely wait here for the owning department's data steward (revision 8).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "linkage_reviews",
        sa.Column("review_id", sa.String(40), primary_key=True),
        sa.Column("batch_id", sa.String(96), nullable=False),
        sa.Column("source_row", sa.BigInteger, nullable=False),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("resident_key", sa.String(128), nullable=False),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("runner_up", sa.Float, nullable=False),
        sa.Column("comparison", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("applied_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_linkage_reviews_dataset", "linkage_reviews", ["dataset"])
    op.create_index("ix_linkage_reviews_status", "linkage_reviews", ["status"])


def downgrade() -> None:
    raise NotImplementedError("the state store is not downgraded: restore a backup instead")
