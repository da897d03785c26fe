"""The state store's own tests run on both of its databases (`state_url`, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from hub.state.migrate import open_state_store


@pytest.fixture
def engine(state_url: str) -> Iterator[Engine]:
    """The state store of `state_url`, migrated to the newest revision."""
    engine = open_state_store(state_url)
    yield engine
    engine.dispose()
