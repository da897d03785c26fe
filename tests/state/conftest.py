"""The state store on both of its databases: SQLite (a file under tmp_path) and PostgreSQL (a
database of its own in a cluster started once per session, tests/state/postgres_kit.py).

Without PostgreSQL's binaries the PostgreSQL cases are skipped with the reason, except in CI
(CI=true), where they fail: CI installs PostgreSQL and must run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hub.state.migrate import open_state_store
from tests.state.postgres_kit import PostgresCluster, find_bindir


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


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty state store on each database in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'state.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(state_url: str) -> Iterator[Engine]:
    """The state store of `state_url`, migrated to the newest revision."""
    engine = open_state_store(state_url)
    yield engine
    engine.dispose()
