"""The loops (revision 7): correction requests, conditional-sharing requests and their grants,
cases with referrals and confidential notes, and the history of each step (hub.casework).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    C = sa.Column  # noqa: N806 - the table listings read better short
    op.create_table(
        "correction_requests",
        C("request_id", sa.String(40), primary_key=True),
        C("origin", sa.String(16), nullable=False), C("finding_id", sa.String(64)),
        C("dataset", sa.String(64), nullable=False),
        C("department", sa.String(64), nullable=False), C("column_name", sa.String(128)),
        C("rule", sa.String(128), nullable=False), C("resident_key", sa.String(64)),
        C("batch_id", sa.String(96)), C("status", sa.String(16), nullable=False),
        C("dispute_reason", sa.String(32)), C("corrected_batch", sa.String(96)),
        C("created_by", sa.String(160), nullable=False), C("created_at", TS, nullable=False),
        C("due_date", sa.Date, nullable=False), C("acknowledged_at", TS),
        C("corrected_at", TS), C("verified_at", TS), C("closed_at", TS), C("escalated_at", TS))
    for column in ("finding_id", "dataset", "status"):
        op.create_index(f"ix_correction_requests_{column}", "correction_requests", [column])
    op.create_table(
        "sharing_requests",
        C("request_id", sa.String(40), primary_key=True),
        C("dataset", sa.String(64), nullable=False),
        C("department", sa.String(64), nullable=False), C("columns", sa.JSON, nullable=False),
        C("purpose", sa.String(64), nullable=False),
        C("legal_basis", sa.String(32), nullable=False),
        C("legal_reference", sa.String(120), nullable=False),
        C("period_start", sa.Date, nullable=False), C("period_end", sa.Date, nullable=False),
        C("requester", sa.String(160), nullable=False),
        C("requester_party", sa.String(400), nullable=False),
        C("status", sa.String(16), nullable=False), C("refusal_reason", sa.String(32)),
        C("granted_columns", sa.JSON), C("granted_until", sa.Date),
        C("decided_by", sa.String(160)), C("decided_at", TS),
        C("created_at", TS, nullable=False), C("due_date", sa.Date, nullable=False),
        C("escalated_at", TS))
    for column in ("dataset", "requester_party", "status"):
        op.create_index(f"ix_sharing_requests_{column}", "sharing_requests", [column])
    op.create_table(
        "cases",
        C("case_id", sa.String(40), primary_key=True),
        C("resident_key", sa.String(64), nullable=False),
        C("street_code", sa.String(9), nullable=False),
        C("origin", sa.String(16), nullable=False), C("hint_rule", sa.String(64)),
        C("status", sa.String(16), nullable=False), C("assessment", sa.JSON, nullable=False),
        C("plan", sa.JSON, nullable=False), C("evaluation", sa.String(32)),
        C("satisfaction", sa.Integer), C("opened_by", sa.String(160), nullable=False),
        C("workers_party", sa.String(400), nullable=False),
        C("created_at", TS, nullable=False), C("accepted_at", TS), C("closed_at", TS),
        C("due_date", sa.Date, nullable=False), C("escalated_at", TS))
    op.create_index("ix_cases_resident_key", "cases", ["resident_key"])
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_table(
        "case_referrals",
        C("referral_id", sa.String(40), primary_key=True),
        C("case_id", sa.String(40), nullable=False),
        C("resident_key", sa.String(64), nullable=False),
        C("to_kind", sa.String(16), nullable=False), C("to_code", sa.String(64), nullable=False),
        C("service", sa.String(64), nullable=False), C("status", sa.String(16), nullable=False),
        C("response", sa.String(32)), C("responded_by", sa.String(160)),
        C("responded_at", TS), C("created_by", sa.String(160), nullable=False),
        C("created_at", TS, nullable=False), C("due_date", sa.Date, nullable=False),
        C("escalated_at", TS))
    op.create_index("ix_case_referrals_case_id", "case_referrals", ["case_id"])
    op.create_index("ix_case_referrals_status", "case_referrals", ["status"])
    op.create_table(
        "case_notes",
        C("note_id", sa.String(40), primary_key=True),
        C("case_id", sa.String(40), nullable=False),
        C("author", sa.String(160), nullable=False), C("text", sa.Text, nullable=False),
        C("created_at", TS, nullable=False))
    op.create_index("ix_case_notes_case_id", "case_notes", ["case_id"])
    op.create_table(
        "casework_events",
        C("event_id", sa.Integer, primary_key=True, autoincrement=True),
        C("item_kind", sa.String(16), nullable=False),
        C("item_id", sa.String(40), nullable=False),
        C("action", sa.String(32), nullable=False), C("actor", sa.String(160), nullable=False),
        C("at", TS, nullable=False), C("detail", sa.JSON))
    op.create_index("ix_casework_events_item", "casework_events",
                    ["item_kind", "item_id", "event_id"])


def downgrade() -> None:
    raise NotImplementedError("the state store is not downgraded: restore a backup instead")
