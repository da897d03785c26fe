"""Shared fixtures.

Every test gets its own hub home under tmp_path; nothing leaks from the environment of the
person running the tests (`settings`, `bare_settings`). `state_url` runs a test on both
databases of the state store: SQLite (a file under tmp_path) and PostgreSQL (a database of its
own in a cluster started once per session, tests/postgres_kit.py); without PostgreSQL's
binaries those cases are skipped with the reason, except in CI (CI=true), where they fail.

Tests that need a loaded district share one, built once per session:

- `demo_district`: the 2,000-resident demo district, every extract ingested (quality checks
  on), the crosswalk loaded and the views published, in a template home. Read only: its
  extracts, its home and its keys must never change (other tests read them after you).
- `district_home`: a private copy of that home under tmp_path, for a test that ingests,
  publishes, rotates keys or otherwise writes. `DemoDistrict.copy_home` makes the same copy
  for a wider-scoped fixture.
- `served_home` and `hub_server`: one real `hub serve` (uvicorn, 2 API workers and the
  pipeline worker, 127.0.0.1) on a session copy of the district, shared by every test that
  talks to a server without stopping it. Such tests may add to its home (tokens, audit
  records, uploads) but not take away; a test that needs other server settings, its own
  data or that kills the server starts its own with tests/server_kit.py.

`browser` is the session's one headless Chromium (Debian's, through Playwright): a process
holds one Playwright driver at a time, so every browser test opens its pages from it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from hub.demo import DemoManifest, generate_demo
from hub.keys.config import init_keys
from hub.settings import HubSettings, LinkageSettings
from tests import server_kit
from tests.district_kit import ingest_and_publish
from tests.postgres_kit import PostgresCluster, find_bindir
from tests.server_kit import Server

# The demo district's reference date: the extracts are dated from it and it is published
# as of this day, so that every figure derived from dates is the same on any day.
DISTRICT_TODAY = date(2026, 11, 1)
DISTRICT_RESIDENTS = 2_000
DISTRICT_SEED = 11

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "console"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@dataclass(frozen=True)
class DemoDistrict:
    settings: HubSettings  # the template home: read only
    demo: DemoManifest  # the extracts and what the generator planted in them: read only
    publish: dict[str, Any]  # what the one publish reported

    def copy_home(self, home: Path, **settings: Any) -> HubSettings:
        """A copy of the template home at `home` (warehouse, state store, vault, keys with
        their 0600 modes), with settings for it (chunk_rows=1000 unless given)."""
        shutil.copytree(self.settings.home, home, symlinks=True)
        return HubSettings(home=home, **{"chunk_rows": 1_000, **settings})


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "hub-home"))


@pytest.fixture
def settings(tmp_path: Path) -> HubSettings:
    """A new home with its four keys (`hub keys init`): every process refuses a home without."""
    # Quality suites and the registry's duplicate search have their own tests (tests/quality,
    # tests/linkage); elsewhere they only cost time.
    made = HubSettings(home=tmp_path / "hub-home", chunk_rows=1_000, quality_checks=False,
                       linkage=LinkageSettings(registry_duplicates=False))
    init_keys(made)
    return made


@pytest.fixture
def bare_settings(tmp_path: Path) -> HubSettings:
    """A home with no keys yet, for tests of key creation and refusal."""
    return HubSettings(home=tmp_path / "hub-home", chunk_rows=1_000, quality_checks=False,
                       linkage=LinkageSettings(registry_duplicates=False))


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bindir = find_bindir()
    if bindir is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests (.ci/run installs them)")
        pytest.skip(reason)
    cluster = PostgresCluster.start(bindir)
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A new, empty database."""
    name = postgres_cluster.create_database()
    yield postgres_cluster.url(name)
    postgres_cluster.drop_database(name)


@pytest.fixture(scope="session")
def postgres_at_head(postgres_cluster: PostgresCluster) -> str:
    """A database migrated to the newest schema once, the template of `state_url`."""
    from hub.state.migrate import open_state_store

    name = postgres_cluster.create_database()
    open_state_store(postgres_cluster.url(name)).dispose()
    return name


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A state store on each database in turn: a new SQLite file, or a PostgreSQL database
    copied from `postgres_at_head` (migrating each one would cost a second per test). Tests
    of the migrations themselves start from `postgres_url`."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'state.sqlite'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = cluster.create_database(template=request.getfixturevalue("postgres_at_head"))
    yield cluster.url(name)
    cluster.drop_database(name)


@pytest.fixture(scope="session")
def demo_district(tmp_path_factory: pytest.TempPathFactory) -> DemoDistrict:
    """The demo district, ingested and published once per test run (read only).

    The first process of the run to need it builds it, under a lock, in the folder that the
    run's xdist workers share; each process then reads its own copy of the home (a DuckDB
    file opened by one process cannot be opened by another) and the shared extracts."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    built = shared / "demo-district"
    with (shared / "demo-district.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = built / "publish.json"  # written last: a failed build is made again
        if not done.exists():
            shutil.rmtree(built, ignore_errors=True)
            demo = generate_demo(built / "district", residents=DISTRICT_RESIDENTS,
                                 seed=DISTRICT_SEED, today=DISTRICT_TODAY)
            settings = HubSettings(home=built / "home", chunk_rows=1_000)
            init_keys(settings)
            publish = ingest_and_publish(settings, demo, DISTRICT_TODAY)
            done.write_text(json.dumps(publish, default=str))
    home = tmp_path_factory.mktemp("demo-district") / "home"
    shutil.copytree(built / "home", home, symlinks=True)
    return DemoDistrict(HubSettings(home=home, chunk_rows=1_000),
                        DemoManifest.load(built / "district"),
                        json.loads(done.read_text()))


@pytest.fixture
def district_home(demo_district: DemoDistrict, tmp_path: Path) -> HubSettings:
    """This test's own copy of the district's home (quality checks and the registry's
    duplicate search off: they have their own tests, and elsewhere they only cost time)."""
    return demo_district.copy_home(tmp_path / "district-home", quality_checks=False,
                                   linkage=LinkageSettings(registry_duplicates=False))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a slow test run first: `--dist loadfile` hands files out in this order,
    so a long file does not end the run on one worker while the others wait."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: each file keeps its order


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--screenshots", action="store_true",
                     help="write the console's screenshots to docs/console (make screenshots)")


@pytest.fixture(scope="session")
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], None]:
    """Takes a page's full screenshot into docs/console under a name, with --screenshots
    only: a test run leaves the documentation as it was."""
    wanted = bool(request.config.getoption("--screenshots"))

    def take(page: Page, name: str) -> None:
        if wanted:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / name), full_page=True)

    return take


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def served_home(demo_district: DemoDistrict,
                tmp_path_factory: pytest.TempPathFactory) -> HubSettings:
    """The session copy of the district's home that `hub_server` serves."""
    return demo_district.copy_home(tmp_path_factory.mktemp("served") / "home")


@pytest.fixture(scope="session")
def hub_server(served_home: HubSettings,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The shared real `hub serve` on `served_home`: default settings, 2 API workers and the
    pipeline worker; stopped with SIGINT at the end of the session."""
    log_path = tmp_path_factory.mktemp("hub-server") / "serve.log"
    running = server_kit.start(served_home.home, log_path, HUB_CHUNK_ROWS="1000")
    server_kit.wait_healthy(running, time.monotonic() + server_kit.STARTUP_SECONDS)
    yield running
    server_kit.stop(running)
