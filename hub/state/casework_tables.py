"""The tables of the loops (hub.casework): correction requests, sharing requests and their
grants, cases with referrals and confidential notes, and the history of every step.

On the state store's one MetaData beside the other tables (hub.state.tables explains why they
live here); created by migration 0007. No table holds a raw identifier: residents are named by
their pseudonymous key, and what a step says is a category code, never free text, except case
notes, which only the case's workers read (every read audited).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, DateTime, Index, Integer, String, Table, Text

from catalog.db import metadata

correction_requests = Table(
    "correction_requests", metadata,
    Column("request_id", String(40), primary_key=True),
    Column("origin", String(16), nullable=False),  # finding | quality | report
    Column("finding_id", String(64), index=True),
    Column("dataset", String(64), nullable=False, index=True),  # whose value is in doubt
    Column("department", String(64), nullable=False),  # the dataset's owner
    Column("column_name", String(128)),
    Column("rule", String(128), nullable=False),
    Column("resident_key", String(64)),
    Column("batch_id", String(96)),  # the batch a quality failure was found in
    Column("status", String(16), nullable=False, index=True),
    Column("dispute_reason", String(32)),
    Column("corrected_batch", String(96)),
    Column("created_by", String(160), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("corrected_at", DateTime(timezone=True)),
    Column("verified_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("escalated_at", DateTime(timezone=True)),
)

sharing_requests = Table(
    "sharing_requests", metadata,
    Column("request_id", String(40), primary_key=True),
    Column("dataset", String(64), nullable=False, index=True),
    Column("department", String(64), nullable=False),  # the dataset's owner, who answers
    Column("columns", JSON, nullable=False),  # asked for
    Column("purpose", String(64), nullable=False),
    Column("legal_basis", String(32), nullable=False),  # a category of vocabulary.yaml
    Column("legal_reference", String(120), nullable=False),  # article or document number
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("requester", String(160), nullable=False),  # actor
    Column("requester_party", String(400), nullable=False, index=True),  # role:scope
    Column("status", String(16), nullable=False, index=True),
    Column("refusal_reason", String(32)),
    Column("granted_columns", JSON),
    Column("granted_until", Date),  # the grant holds through this day
    Column("decided_by", String(160)),
    Column("decided_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("escalated_at", DateTime(timezone=True)),
)

cases = Table(
    "cases", metadata,
    Column("case_id", String(40), primary_key=True),
    Column("resident_key", String(64), nullable=False, index=True),
    Column("street_code", String(9), nullable=False),
    Column("origin", String(16), nullable=False),  # application | missed_benefit | overlap
    Column("hint_rule", String(64)),
    Column("status", String(16), nullable=False, index=True),
    Column("assessment", JSON, nullable=False),  # category codes
    Column("plan", JSON, nullable=False),  # [{action, due_date}]
    Column("evaluation", String(32)),
    Column("satisfaction", Integer),
    Column("opened_by", String(160), nullable=False),
    Column("workers_party", String(400), nullable=False),  # the street office's role:scope
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("accepted_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("due_date", Date, nullable=False),  # the next step's due date
    Column("escalated_at", DateTime(timezone=True)),
)

case_referrals = Table(
    "case_referrals", metadata,
    Column("referral_id", String(40), primary_key=True),
    Column("case_id", String(40), nullable=False, index=True),
    Column("resident_key", String(64), nullable=False),
    Column("to_kind", String(16), nullable=False),  # department | provider
    Column("to_code", String(64), nullable=False),
    Column("service", String(64), nullable=False),
    Column("status", String(16), nullable=False, index=True),  # sent | done | declined
    Column("response", String(32)),
    Column("responded_by", String(160)),
    Column("responded_at", DateTime(timezone=True)),
    Column("created_by", String(160), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("escalated_at", DateTime(timezone=True)),
)

case_notes = Table(
    "case_notes", metadata,
    Column("note_id", String(40), primary_key=True),
    Column("case_id", String(40), nullable=False, index=True),
    Column("author", String(160), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

casework_events = Table(
    "casework_events", metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("item_kind", String(16), nullable=False),  # correction | sharing | case | referral
    Column("item_id", String(40), nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(160), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("detail", JSON),
    Index("ix_casework_events_item", "item_kind", "item_id", "event_id"),
)
