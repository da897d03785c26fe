"""Shared fixtures: every test gets its own hub home under tmp_path; nothing leaks from the
environment of the person running the tests. `state_url` runs a test on both databases of the
state store: SQLite (a file under tmp_path) and PostgreSQL (a database of its own in a cluster
started once per session, tests/postgres_kit.py). Without PostgreSQL's binaries those cases
are skipped with the reason, except in CI (CI=true), where they fail: CI must run them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.keys.config import init_keys
from hub.settings import HubSettings
from tests.postgres_kit import PostgresCluster, find_bindir


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "hub-home"))


@pytest.fixture
def settings(tmp_path: Path) -> HubSettings:
    """A new home with its four keys (`hub keys init`): every process refuses a home without."""
    # Quality suites have their own tests (tests/quality); elsewhere they only cost time.
    made = HubSettings(home=tmp_path / "hub-home", chunk_rows=1_000, quality_checks=False)
    init_keys(made)
    return made


@pytest.fixture
def bare_settings(tmp_path: Path) -> HubSettings:
    """A home with no keys yet, for tests of key creation and refusal."""
    return HubSettings(home=tmp_path / "hub-home", chunk_rows=1_000, quality_checks=False)


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
