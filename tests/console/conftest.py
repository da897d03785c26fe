"""The console's browser tests: the API tests' demo district and real `hub serve`, console
users of each role, and one Chromium (the system's) for the module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, sync_playwright

from hub.state.migrate import open_state_store
from hub.web.state import stores
from tests.api.conftest import District, Server, district, server  # noqa: F401

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PASSWORD = "demo-password-1"


@dataclass
class Accounts:
    street: str  # street_office of district.street
    admin: str
    auditor: str
    password: str = PASSWORD


@pytest.fixture(scope="session")
def accounts(district: District) -> Accounts:  # noqa: F811
    engine = open_state_store(district.settings.resolved_state_url)
    try:
        users = stores(engine, district.settings)[0]
        users.create("street-a", "street_office", [district.street], PASSWORD)
        users.create("admin-a", "admin", [], PASSWORD)
        users.create("auditor-a", "auditor", [], PASSWORD)
        users.create("locked-a", "street_office", [district.street], PASSWORD)
    finally:
        engine.dispose()
    return Accounts("street-a", "admin-a", "auditor-a")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield launched
        launched.close()
