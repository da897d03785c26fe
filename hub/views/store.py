"""The published views in the state store (tables in hub.state.tables; SQLite or PostgreSQL).

Views are published by generation: the worker writes a complete new generation next to the
current one in short batches (readers keep using the current one, and an audit append never
waits long for the write lock), then flips `view_state.generation` in one tiny transaction,
and only then deletes generations older than the previous one. A reader resolves the current
generation once per request and reads only its rows, so it never sees a half-published
state; the previous generation survives one more publish for readers that resolved it just
before a flip.
"""

from __future__ import annotations

from hub.state.tables import view_households, view_residents, view_state, view_unmapped_codes

__all__ = ["GENERATION_TABLES", "view_households", "view_residents", "view_state",
           "view_unmapped_codes"]

GENERATION_TABLES = (view_residents, view_households, view_unmapped_codes)
