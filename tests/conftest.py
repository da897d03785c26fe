"""Shared fixtures: every test gets its own hub home under tmp_path; nothing leaks from the
environment of the person running the tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.settings import HubSettings


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "hub-home"))
    return


@pytest.fixture
def settings(tmp_path: Path) -> HubSettings:
    # Quality suites have their own tests (tests/quality); elsewhere they only cost time.
    return HubSettings(home=tmp_path / "hub-home", chunk_rows=1_000, quality_checks=False)
