"""Alembic's environment for the state store: the connection comes from hub.state.migrate.

Run from code only (`upgrade_state`), inside the transaction that holds the schema lock; with
the alembic command line, pass a connection the same way (config.attributes["connection"]).
"""

from __future__ import annotations

from alembic import context

from hub.state.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the state store migrations run through hub.state.migrate.upgrade_state")
context.configure(connection=connection, target_metadata=metadata,
                  transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
