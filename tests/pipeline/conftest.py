"""The pipeline tests read the extracts of the shared demo district (tests/conftest.py) and
ingest them into homes of their own."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import DemoDistrict


@pytest.fixture(scope="session")
def demo(demo_district: DemoDistrict) -> Any:
    """The district's extracts: read only."""
    return demo_district.demo
