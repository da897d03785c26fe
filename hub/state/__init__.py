"""The state store: one schema (catalog.db.metadata with the tables of hub.state.tables and
hub.state.audit_table) and the Alembic migrations that create and change it (hub.state.migrate)."""
