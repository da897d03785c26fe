"""Shared fixtures: every test gets its own hub home under tmp_path; nothing leaks from the
environment of the person running the tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hub.keys.config import init_keys
from hub.settings import HubSettings


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "hub-home"))


@pytest.fixture
def settings(tmp_path: Path) -> HubSettings:
    """A new home with its four keys (`hub keys init`): every process refuses a home without."""
    # Quality suites have their own tests (tests/quality); elsewhere they only cost time.
    made = HubSettings(home=tmp_path / "hub-home", chunk_rows=1_000, quality_checks=False)
    init_keys(made)
    return made


@pytest.fixture
def bare_settings(tmp_path: Path) -> HubSettings:
    """A home with no keys yet, for tests of key creation and refusal."""
    return HubSettings(home=tmp_path / "hub-home", chunk_rows=1_000, quality_checks=False)
