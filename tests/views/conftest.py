"""A 2,000-resident demo district ingested, crosswalked and published once per session."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from catalog.db import create_state_engine
from hub.demo import DemoManifest, generate_demo
from hub.keys.config import init_keys
from hub.settings import HubSettings
from hub.views.publish import current_generation
from hub.views.store import view_residents
from tests.district_kit import ingest_and_publish

TODAY = date(2026, 11, 1)


@dataclass
class Published:
    settings: HubSettings
    demo: DemoManifest
    publish: dict[str, Any]

    def engine(self) -> Engine:
        return create_state_engine(self.settings.resolved_state_url)


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    base = tmp_path_factory.mktemp("views")
    demo = generate_demo(base / "district", residents=2_000, seed=11, today=TODAY)
    settings = HubSettings(home=base / "home", chunk_rows=1_000)
    init_keys(settings)
    return Published(settings, demo, ingest_and_publish(settings, demo, TODAY))


@pytest.fixture
def own_home(published: Published, tmp_path: Path) -> HubSettings:
    """A private copy of the published home, for tests that ingest or publish again."""
    home = tmp_path / "home"
    shutil.copytree(published.settings.home, home)
    return HubSettings(home=home, chunk_rows=1_000)


def all_documents(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        gen = current_generation(conn)
        rows = conn.execute(select(view_residents.c.resident_key, view_residents.c.document)
                            .where(view_residents.c.generation == gen))
        return {r.resident_key: json.loads(r.document) for r in rows}
