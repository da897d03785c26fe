"""The views tests' handles on the shared demo district (tests/conftest.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, select

from catalog.db import create_state_engine
from hub.demo import DemoManifest
from hub.settings import HubSettings
from hub.views.publish import current_generation
from hub.views.store import view_residents
from tests.conftest import DISTRICT_TODAY, DemoDistrict

TODAY = DISTRICT_TODAY


@dataclass
class Published:
    settings: HubSettings
    demo: DemoManifest
    publish: dict[str, Any]

    def engine(self) -> Engine:
        return create_state_engine(self.settings.resolved_state_url)


@pytest.fixture(scope="session")
def published(demo_district: DemoDistrict) -> Published:
    """The district's template home: read only."""
    return Published(demo_district.settings, demo_district.demo, demo_district.publish)


@pytest.fixture
def own_home(district_home: HubSettings) -> HubSettings:
    """A private copy of the published home, for tests that ingest or publish again (its
    quality suites and registry duplicate search off, as `district_home`'s)."""
    return district_home


def all_documents(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        gen = current_generation(conn)
        rows = conn.execute(select(view_residents.c.resident_key, view_residents.c.document)
                            .where(view_residents.c.generation == gen))
        return {r.resident_key: json.loads(r.document) for r in rows}
