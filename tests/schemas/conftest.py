"""Fixtures for the schemas tests (data builders live in schemas_kit.py)."""

from __future__ import annotations

from datetime import date

import pytest
from schemas_kit import TODAY


@pytest.fixture
def today() -> date:
    return TODAY
