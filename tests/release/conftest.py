"""A 2,000-resident demo district, ingested, published and shared read-only by the release
tests (session scope); and the raw identifiers of its extracts, for the privacy scans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from hub.demo import DemoManifest, generate_demo
from hub.keys.config import init_keys
from hub.settings import HubSettings
from tests.district_kit import DATASETS, ingest_and_publish
from tests.privacy_scan import Needles
from tests.privacy_scan import privacy_hits as scan

RELEASED = [*DATASETS, "assistance_ledger"]
DEMO_TODAY = date(2026, 11, 1)


@dataclass
class Home:
    settings: HubSettings
    demo: DemoManifest
    needles: Needles  # the demo's raw names, ID numbers and phones


def privacy_hits(data: bytes, home: Home) -> list[str]:
    return scan(data, home.needles)


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    base = tmp_path_factory.mktemp("release")
    demo = generate_demo(base / "district", residents=2_000, seed=11, today=DEMO_TODAY)
    settings = HubSettings(home=base / "home", chunk_rows=1_000, quality_checks=False)
    init_keys(settings)
    ingest_and_publish(settings, demo, DEMO_TODAY)
    return Home(settings, demo, Needles.of(demo))
