"""The published residents lose their index by household (revision 9).

Every full publish maintained it for each resident written and each one deleted with an old
generation; its one reader, the incremental publish looking up the published members of a
household, reads them from the household's own document (hub.views.changes) instead.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_view_residents_household", table_name="view_residents")


def downgrade() -> None:
    raise NotImplementedError("the state store is not downgraded: restore a backup instead")
