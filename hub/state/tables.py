"""The hub's own tables in the state store: published views, upload and export jobs, tokens,
console accounts and sessions.

They are defined on the state store's one MetaData (catalog.db), beside catalog's tables, and
here rather than in their rooms so that this package depends on nothing of the hub: every room
imports its tables from here, and the migrations see the whole schema without importing rooms.
Columns change only together with a migration (hub/state/migrations/versions).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from catalog.db import metadata

# -- published views (hub.views.store explains the generation protocol) --------------------

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

# -- the upload queue and its row reports (hub.pipeline.jobs) ------------------------------

upload_jobs = Table(
    "upload_jobs", metadata,
    Column("job_id", String(40), primary_key=True),
    Column("dataset", String(64), nullable=False, index=True),
    Column("source", String(96), nullable=False),
    Column("source_path", Text, nullable=False),
    Column("inbox_path", Text, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("submitted_by", String(64), nullable=False),  # token id, never the token
    Column("status", String(16), nullable=False, index=True),
    Column("batch_id", String(96), index=True),
    Column("outcome", String(24)),
    Column("rows_read", BigInteger),
    Column("rows_loaded", BigInteger),
    Column("rows_quarantined", BigInteger),
    Column("reason", Text),
    Column("top_rules", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("mode", String(16)),  # the load mode the department asked for; None: the source's
    Column("load_mode", String(16)),  # the mode the batch was loaded in
    Column("replaced", JSON),  # what the batch replaced (hub.pipeline.load_modes)
    Column("findings", JSON),  # errors and warnings per rule
)

# A department's confirm or discard of a held snapshot, run by the pipeline worker.
batch_decisions = Table(
    "batch_decisions", metadata,
    Column("decision_id", String(40), primary_key=True),
    Column("batch_id", String(96), nullable=False, index=True),
    Column("dataset", String(64), nullable=False),
    Column("decision", String(16), nullable=False),  # confirm | discard
    Column("requested_by", String(64), nullable=False),  # token id or console user
    Column("status", String(16), nullable=False, index=True),
    Column("outcome", String(32)),
    Column("reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
)

upload_issues = Table(
    "upload_issues", metadata,
    Column("job_id", String(40), nullable=False),
    Column("source_row", BigInteger, nullable=False),
    Column("column_name", String(128), nullable=False),
    Column("rule", String(128), nullable=False),
    Column("severity", String(16), nullable=False),
    Index("ix_upload_issues_job", "job_id", "source_row"),
)

# -- safe releases asked through the API (hub.release.jobs) --------------------------------

export_jobs = Table(
    "export_jobs", metadata,
    Column("job_id", String(40), primary_key=True),
    Column("dataset", String(64), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("k", Integer, nullable=False),
    Column("l", Integer, nullable=False),
    Column("cell_threshold", Integer, nullable=False),
    Column("format", String(8), nullable=False),
    Column("requested_by", String(64), nullable=False, index=True),  # token id, never a token
    Column("status", String(16), nullable=False, index=True),
    Column("release_id", String(64)),
    Column("file_path", Text),
    Column("report", JSON),
    Column("reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
)

# -- API tokens (hub.security.tokens): the keyed hash only, never the token -----------------

TOKEN_NAME_MAX = 100

api_tokens = Table(
    "api_tokens", metadata,
    Column("token_id", String(32), primary_key=True),
    Column("name", String(TOKEN_NAME_MAX), nullable=False),
    Column("role", String(32), nullable=False),
    Column("scope", Text, nullable=False),  # JSON list
    Column("token_hmac", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    # ISO UTC text like created_at; migration 0002 gave older tokens 90 days from the upgrade
    Column("expires_at", String(32), nullable=False),
)


# -- console accounts and login sessions (hub.web) ---------------------------------------
console_users = Table(
    "console_users", metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(32), nullable=False),
    Column("scope", String(2000), nullable=False),  # JSON list, as api_tokens.scope
    Column("password_hash", String(200), nullable=False),  # argon2id, PHC string
    Column("locale", String(8), nullable=False),  # "zh" or "en"
    Column("failed_logins", Integer, nullable=False),  # consecutive failures
    Column("locked_until", Float),  # epoch seconds; None: not locked
    Column("created_at", String(32), nullable=False),
    Column("disabled_at", String(32)),
)

console_sessions = Table(
    "console_sessions", metadata,
    # SHA-256 of the cookie value: a copy of the store yields no usable session.
    Column("session_hash", String(64), primary_key=True),
    Column("user_name", String(64), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Float, nullable=False),  # epoch seconds
    Column("last_seen", Float, nullable=False),
)


# -- linkage reviews (hub.pipeline.linkage writes them, the API decides them) -------------
linkage_reviews = Table(
    "linkage_reviews", metadata,
    Column("review_id", String(40), primary_key=True),
    Column("batch_id", String(96), nullable=False),
    Column("source_row", BigInteger, nullable=False),
    Column("dataset", String(64), nullable=False, index=True),
    Column("resident_key", String(128), nullable=False),  # the registry resident proposed
    Column("probability", Float, nullable=False),
    Column("runner_up", Float, nullable=False),
    # [{field, level, level_zh, weight, candidate, resident}]: masked values only
    Column("comparison", JSON, nullable=False),
    Column("status", String(16), nullable=False, index=True),  # open | accepted | rejected
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(200)),
    Column("decided_at", DateTime(timezone=True)),
    Column("applied_at", DateTime(timezone=True)),  # when the worker carried the decision out
)
