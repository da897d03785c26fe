"""The rotation drills' handles on the shared demo district (tests/conftest.py): each drill
rotates keys in its own copy of its home."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hub.demo import DemoManifest
from hub.settings import HubSettings
from tests.conftest import DISTRICT_TODAY, DemoDistrict
from tests.rotation.rotation_kit import copy_settings

TODAY = DISTRICT_TODAY


@dataclass
class District:
    settings: HubSettings
    demo: DemoManifest


@pytest.fixture(scope="session")
def district(demo_district: DemoDistrict) -> District:
    """The template: read only."""
    return District(copy_settings(demo_district.settings.home), demo_district.demo)


@pytest.fixture
def home(district_home: HubSettings) -> HubSettings:
    """A private copy of the published home."""
    return copy_settings(district_home.home)
