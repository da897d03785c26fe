"""The console's tables in the state store: user accounts and their login sessions.

Plain `Table` definitions on a MetaData of their own, created at start-up (`create_all`), so
that they move as they are into the state store's one MetaData and a migration revision.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, MetaData, String, Table

metadata = MetaData()

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
