"""A small demo district generated once per session and shared read-only by pipeline tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from hub.demo import generate_demo

DEMO_TODAY = date(2026, 11, 1)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("demo") / "district"
    return generate_demo(folder, residents=3_000, seed=11, today=DEMO_TODAY)
