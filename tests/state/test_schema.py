"""One schema: the migrations build exactly what the table definitions say, on both
databases, and processes that start at once on a new store migrate it once."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

import catalog.quality_store
import catalog.store
from catalog.db import create_state_engine
from hub.state.migrate import HEAD_REVISION, current_revision, head_revision, upgrade_state
from hub.state.schema import metadata
from tests.state._upgrade_worker import upgrade

STATE_TABLES = {"alembic_version", "api_tokens", "audit_events", "batch_decisions",
                "case_notes", "case_referrals", "cases", "casework_events", "catalog_batches",
                "catalog_contract_versions", "catalog_datasets", "console_sessions",
                "console_users", "correction_requests", "export_jobs", "linkage_reviews",
                "quality_batches", "quality_findings", "sharing_requests", "upload_issues",
                "upload_jobs",
                "view_households", "view_residents", "view_state", "view_unmapped_codes"}


def test_migrations_build_the_schema_the_tables_define(engine: Engine) -> None:
    assert catalog.store.batches.metadata is metadata is catalog.quality_store.metadata
    assert set(inspect(engine).get_table_names()) == STATE_TABLES
    # HEAD_REVISION, which spares every process Alembic's import, is Alembic's own head.
    assert current_revision(engine) == head_revision() == HEAD_REVISION == "0009"
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert upgrade_state(engine) == head_revision()  # at head: nothing to do


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'state.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


def test_processes_starting_at_once_migrate_a_new_store_once(empty_url: str) -> None:
    state_url = empty_url
    # spawn: a forked child would inherit this process's DuckDB and driver objects, and
    # a child that dies makes the executor raise instead of waiting for it forever
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        revisions = list(pool.map(upgrade, [state_url] * 3))
    assert revisions == [head_revision()] * 3
    engine = create_state_engine(state_url)
    try:
        assert set(inspect(engine).get_table_names()) == STATE_TABLES
    finally:
        engine.dispose()
