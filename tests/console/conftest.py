"""The console's browser tests: the API tests' demo district and real `hub serve`, console
users of each role, the session's Chromium (`browser`, tests/conftest.py), and pages whose every
request and HTML answer is recorded (per module) for the privacy and offline checks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response
from playwright.sync_api import Error as PlaywrightError

from hub.state.migrate import open_state_store
from hub.web.state import stores
from tests.api.conftest import District, Server, district, server  # noqa: F401
from tests.browser_kit import submit
from tests.privacy_scan import Needles

PASSWORD = "demo-password-1"


@dataclass
class Accounts:
    street: str  # street_office of district.street
    admin: str
    auditor: str
    clerk: str  # department: elderly_care
    password: str = PASSWORD


@pytest.fixture(scope="session")
def accounts(district: District) -> Accounts:  # noqa: F811
    engine = open_state_store(district.settings.resolved_state_url)
    try:
        users = stores(engine, district.settings)[0]
        users.create("street-a", "street_office", [district.street], PASSWORD)
        users.create("admin-a", "admin", [], PASSWORD)
        users.create("auditor-a", "auditor", [], PASSWORD)
        users.create("clerk-a", "department", ["elderly_care"], PASSWORD)
        users.create("locked-a", "street_office", [district.street], PASSWORD)
    finally:
        engine.dispose()
    return Accounts("street-a", "admin-a", "auditor-a", "clerk-a")


class Recorder:
    def __init__(self) -> None:
        self.hosts: set[str] = set()
        self.bodies: list[bytes] = []


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def needles(district: District) -> Needles:  # noqa: F811
    return Needles.of(district.demo)


def host_of(url: str) -> str:
    """The host a request goes to; a blob: or data: URL is the page's own memory."""
    if url.startswith("data:"):
        return "127.0.0.1"
    if url.startswith("blob:"):
        url = url[len("blob:"):]
    return urlparse(url).hostname or url


def open_context(browser: Browser, server: Server, recorder: Recorder,  # noqa: F811
                 javascript: bool) -> BrowserContext:
    context = browser.new_context(base_url=server.base_url, locale="zh-CN",
                                  java_script_enabled=javascript, accept_downloads=True)
    context.on("request", lambda r: recorder.hosts.add(host_of(r.url)))

    def keep(response: Response) -> None:
        # Every page (error pages too); the vendored documentation bundles are not pages.
        if response.headers.get("content-type", "").startswith("text/html"):
            with contextlib.suppress(PlaywrightError):  # a redirect has no body
                recorder.bodies.append(response.body())

    context.on("response", keep)
    return context


@pytest.fixture
def page(browser: Browser, server: Server, recorder: Recorder) -> Iterator[Page]:  # noqa: F811
    """The console's pages with JavaScript off: the core flows are plain forms and links."""
    context = open_context(browser, server, recorder, javascript=False)
    yield context.new_page()
    context.close()


@pytest.fixture
def scripted_page(browser: Browser, server: Server,  # noqa: F811
                  recorder: Recorder) -> Iterator[Page]:
    context = open_context(browser, server, recorder, javascript=True)
    yield context.new_page()
    context.close()


def sign_in(page: Page, name: str, password: str) -> None:
    page.goto("/console/login")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    submit(page, page.get_by_role("button", name="登录"))

