"""A 2,000-resident demo district ingested and published once per session; each drill
rotates keys in its own copy of that home."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from hub.demo import DemoManifest, generate_demo
from hub.keys.config import init_keys
from hub.settings import HubSettings
from tests.district_kit import ingest_and_publish
from tests.rotation.rotation_kit import copy_settings

TODAY = date(2026, 11, 1)


@dataclass
class District:
    settings: HubSettings
    demo: DemoManifest


@pytest.fixture(scope="session")
def district(tmp_path_factory: pytest.TempPathFactory) -> District:
    base = tmp_path_factory.mktemp("rotation")
    demo = generate_demo(base / "district", residents=2_000, seed=11, today=TODAY)
    settings = copy_settings(base / "home")
    init_keys(settings)
    ingest_and_publish(settings, demo, TODAY)
    return District(settings, demo)


@pytest.fixture
def home(district: District, tmp_path: Path) -> HubSettings:
    """A private copy of the published home."""
    shutil.copytree(district.settings.home, tmp_path / "home", symlinks=True)
    return copy_settings(tmp_path / "home")
