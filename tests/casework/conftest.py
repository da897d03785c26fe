"""The loops' end-to-end set-up: a private copy of the session's demo district (these tests
upload, decide and change what the district's residents show), one real `hub serve` on it for
the session, tokens and console users of each party, and a resident with a missed-benefit hint
in the street office's street."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from catalog.db import create_state_engine
from hub.keys.config import load_security_keys
from hub.security.tokens import TokenStore
from hub.settings import HubSettings
from hub.state.tables import view_residents, view_state
from hub.web.state import stores
from tests import server_kit
from tests.conftest import DemoDistrict
from tests.server_kit import Server

HINT_RULE = "aged_80_without_age_allowance"
PASSWORD = "loop-password-1"


@dataclass
class Loop:
    server: Server
    settings: HubSettings
    district: DemoDistrict
    tokens: dict[str, str]  # street_office, civil (elderly_care), labour (employment), ...
    street: str
    hinted: str  # a resident of `street` whose card shows HINT_RULE
    cared: str  # a resident with elderly-care facts


def _residents(settings: HubSettings) -> tuple[str, str, str]:
    engine = create_state_engine(settings.resolved_state_url)
    try:
        with engine.connect() as conn:
            generation = conn.execute(select(view_state.c.generation)).scalar()
            rows = conn.execute(select(view_residents.c.resident_key,
                                       view_residents.c.street_code,
                                       view_residents.c.document).where(
                view_residents.c.generation == generation,
                view_residents.c.has_missed_benefit.is_(True))).all()
    finally:
        engine.dispose()
    hinted = cared = None
    for key, street, document in rows:
        parsed = json.loads(document)
        hints = {h["rule_id"] for h in parsed["missed_benefits"]}
        if street and HINT_RULE in hints and hinted is None:
            hinted = (str(key), str(street))
        if cared is None and any(d["dataset"] == "elderly_care" and d["facts"]
                                 for d in parsed["departments"]):
            cared = str(key)
    if hinted is None or cared is None:
        raise AssertionError(f"the demo district has no resident with the hint {HINT_RULE}")
    return hinted[0], hinted[1], cared


@pytest.fixture(scope="session")
def loop(demo_district: DemoDistrict, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Loop]:
    base = tmp_path_factory.mktemp("loop")
    settings = demo_district.copy_home(base / "home")
    hinted, street, cared = _residents(settings)
    engine = create_state_engine(settings.resolved_state_url)
    try:
        from hub.state.migrate import upgrade_state

        upgrade_state(engine)
        store = TokenStore(engine, load_security_keys(settings).token_pepper)
        tokens = {
            "street_office": store.create("street_office", [street], "loop-street")[1],
            "civil": store.create("department", ["elderly_care"], "loop-civil")[1],
            "labour": store.create("department", ["employment"], "loop-labour")[1],
            "auditor": store.create("auditor", [], "loop-auditor")[1],
            "admin": store.create("admin", [], "loop-admin")[1],
        }
        users = stores(engine, settings)[0]
        users.create("loop-street", "street_office", [street], PASSWORD)
        users.create("loop-civil", "department", ["elderly_care"], PASSWORD)
        users.create("loop-labour", "department", ["employment"], PASSWORD)
        users.create("loop-admin", "admin", [], PASSWORD)
    finally:
        engine.dispose()
    running = server_kit.start(settings.home, base / "serve.log", workers=1,
                               HUB_CHUNK_ROWS="1000")
    server_kit.wait_healthy(running, time.monotonic() + server_kit.STARTUP_SECONDS)
    yield Loop(running, settings, demo_district, tokens, street, hinted, cared)
    server_kit.stop(running)
