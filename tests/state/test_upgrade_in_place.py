"""`hub init` on a home made by the release before migrations (b584fbc) migrates its state
store in place: every row kept, tokens and the audit chain still valid, revision at head."""

from __future__ import annotations

import gzip
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.audit.checkpoint import verify_checkpoint
from hub.audit.log import AuditLog, VerifyResult
from hub.cli.main import app
from hub.keys.config import load_security_keys
from hub.security.tokens import TokenStore
from hub.settings import HubSettings
from hub.state.migrate import current_revision, head_revision, open_state_store
from hub.views.read import ViewReader

FIXTURE = Path(__file__).with_name("home_b584fbc")
ADMIN_TOKEN = "hub_45cc74d7a72ca72f_xyWRTSNcEUfVvAWeqPnJtZke4bEz_AOV"  # synthetic demo token
Rows = dict[str, list[tuple[Any, ...]]]


def _old_home(home: Path) -> Path:
    """The fixture laid out as that release left it."""
    shutil.copytree(FIXTURE / "keys", home / "keys")
    shutil.copytree(FIXTURE / "audit", home / "audit")
    (home / "keys").chmod(0o700)
    for key in (home / "keys").iterdir():
        key.chmod(0o600)
    state = home / "state" / "state.sqlite"
    state.parent.mkdir(parents=True)
    con = sqlite3.connect(state)
    con.executescript(gzip.decompress((FIXTURE / "state.sql.gz").read_bytes()).decode())
    con.close()
    return state


def _rows(path: Path, columns: dict[str, list[str]] | None = None) -> Rows:
    """Every row of every table, in the columns of `columns` (default: the file's own)."""
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        out: Rows = {}
        for table in tables:
            names = (columns or {}).get(table) or [
                r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            listed = ", ".join(f'"{n}"' for n in names)
            out[table] = sorted(con.execute(f'SELECT {listed} FROM "{table}"').fetchall(),
                                key=repr)
        return out
    finally:
        con.close()


def _columns(path: Path) -> dict[str, list[str]]:
    con = sqlite3.connect(path)
    try:
        return {t: [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')] for (t,) in
                con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        con.close()


@pytest.mark.slow
def test_hub_init_migrates_a_home_of_the_previous_release(tmp_path: Path) -> None:
    home = tmp_path / "hub-home"  # HUB_HOME of every test (tests/conftest.py)
    state = _old_home(home)
    old_columns = _columns(state)
    # `hub init` registers the contracts again, as every release did: that stamp moves, and a
    # contract changed since that release (a new version) becomes the dataset's current one.
    for moved in ("updated_at", "current_version", "entry"):
        old_columns["catalog_datasets"].remove(moved)
    before = _rows(state, old_columns)
    assert "alembic_version" not in before
    assert len(before["view_residents"]) == 98
    assert len(before["audit_events"]) == 5

    runner = CliRunner()
    result = runner.invoke(app, ["init"], env={"HUB_QUALITY_CHECKS": "false"})
    assert result.exit_code == 0, result.output
    assert f"schema revision {head_revision()}" in result.stdout

    after = _rows(state, old_columns)
    versions = "catalog_contract_versions"  # a changed contract adds its new version
    assert set(before.pop(versions)) <= set(after.pop(versions))
    assert {t: after[t] for t in before} == before  # every old row, unchanged
    added = set(after) - set(before) - {"alembic_version"}
    assert all(after[t] == [] for t in added)  # tables of later revisions start empty
    settings = HubSettings()
    engine = open_state_store(settings.resolved_state_url)
    try:
        assert current_revision(engine) == head_revision()
        tokens = TokenStore(engine, load_security_keys(settings).token_pepper)
        admin = tokens.authenticate(ADMIN_TOKEN)
        assert admin is not None
        assert admin.name == "demo-admin"
        # Tokens of that release had no end: 90 days from the upgrade.
        for row in tokens.list():
            ends = datetime.fromisoformat(row["expires_at"].replace("Z", "+00:00"))
            assert abs(ends - datetime.now(UTC) - timedelta(days=90)) < timedelta(minutes=5)
        log = AuditLog(engine)
        assert log.verify() == VerifyResult(True, 5, None, None)
        (checkpoint,) = (home / "audit").glob("checkpoint-*.json")
        key = load_security_keys(settings).public_key()
        assert verify_checkpoint(log, key, checkpoint).ok
        assert log.append(action="a", outcome="o", actor="after", role="admin") == 6
        assert log.verify().checked == 6
        resident = before["view_residents"][0]
        assert ViewReader(engine).resident(str(resident[1])) is not None
    finally:
        engine.dispose()

    again = runner.invoke(app, ["init"], env={"HUB_QUALITY_CHECKS": "false"})
    assert again.exit_code == 0, again.output
    assert len(_rows(state)["audit_events"]) == 6
