"""One copy of the shared demo district's home (tests/conftest.py) for the release tests, which
add tokens, export jobs and audit records to it; and the raw identifiers of its extracts, for
the privacy scans."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hub.demo import DemoManifest
from hub.settings import HubSettings
from tests.conftest import DISTRICT_TODAY, DemoDistrict
from tests.district_kit import DATASETS
from tests.privacy_scan import Needles
from tests.privacy_scan import privacy_hits as scan

RELEASED = [*DATASETS, "assistance_ledger"]
DEMO_TODAY = DISTRICT_TODAY


@dataclass
class Home:
    settings: HubSettings
    demo: DemoManifest
    needles: Needles  # the demo's raw names, ID numbers and phones


def privacy_hits(data: bytes, home: Home) -> list[str]:
    return scan(data, home.needles)


@pytest.fixture(scope="session")
def home(demo_district: DemoDistrict, tmp_path_factory: pytest.TempPathFactory) -> Home:
    # Quality checks off: a release writes nothing they would check.
    settings = demo_district.copy_home(tmp_path_factory.mktemp("release") / "home",
                                       quality_checks=False)
    return Home(settings, demo_district.demo, Needles.of(demo_district.demo))
