"""Child process of the concurrent-start test: migrates the store through its own engine."""

from __future__ import annotations

from catalog.db import create_state_engine
from hub.state.migrate import current_revision, upgrade_state


def upgrade(url: str) -> str | None:
    """What a starting `hub serve` or `hub init` does to the state store, then its revision."""
    engine = create_state_engine(url)
    try:
        upgrade_state(engine)
        return current_revision(engine)
    finally:
        engine.dispose()
