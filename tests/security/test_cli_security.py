"""`hub token` and `hub audit`: create/list/revoke tokens, verify and checkpoint the log."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from catalog.db import create_state_engine
from hub.audit.log import AuditLog
from hub.cli.security import audit_app, token_app
from hub.keys.config import load_security_keys
from hub.security.tokens import TokenStore
from hub.settings import HubSettings
from hub.state.migrate import upgrade_state
from tests.security.conftest import fill, set_field, tamper

runner = CliRunner()


def _open(settings: HubSettings) -> tuple[TokenStore, AuditLog]:
    engine = create_state_engine(settings.resolved_state_url)
    keys = load_security_keys(settings)
    return TokenStore(engine, keys.token_pepper), AuditLog(engine)


def _state_file(settings: HubSettings) -> Path:
    return settings.state_dir / "state.sqlite"


def test_token_create_list_revoke(settings: HubSettings) -> None:
    made = runner.invoke(token_app, ["create", "--role", "street_office", "--scope",
                                     "110105001,110105002", "--scope", "110106001",
                                     "--name", "street A"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    store, _ = _open(settings)
    principal = store.authenticate(token)
    assert principal is not None
    assert principal.scope == ("110105001", "110105002", "110106001")
    for name in ("token_pepper.key", "audit_signing.key"):
        assert stat.S_IMODE((settings.keys_dir / name).stat().st_mode) == 0o600

    listed = runner.invoke(token_app, ["list", "--json"])
    assert listed.exit_code == 0
    assert token.split("_", 2)[2] not in listed.stdout
    assert json.loads(listed.stdout)[0]["token_id"] == principal.token_id

    assert runner.invoke(token_app, ["revoke", principal.token_id]).exit_code == 0
    assert store.authenticate(token) is None
    assert runner.invoke(token_app, ["revoke", principal.token_id]).exit_code == 1

    # Creating and revoking are in the audit log, by token id; the token itself never is.
    _, audit = _open(settings)
    records = audit.search(newest_first=False)
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("cli.admin.token.create", "ok"), ("cli.admin.token.revoke", "ok"),
        ("cli.admin.token.revoke", "refused:token-unknown")]
    assert {json.loads(r["detail"])["token_id"] for r in records} == {principal.token_id}
    assert json.loads(records[0]["detail"])["scope"] == "110105001,110105002,110106001"
    assert all(token.split("_", 2)[2] not in str(r) for r in records)


def test_token_create_refuses_a_bad_scope(settings: HubSettings) -> None:
    result = runner.invoke(token_app, ["create", "--role", "department", "--scope", "payroll",
                                       "--name", "x"])
    assert result.exit_code == 4
    _, audit = _open(settings)
    assert [(r["action"], r["outcome"]) for r in audit.search()] == [
        ("cli.admin.token.create", "refused:scope-invalid")]
    bad_role = runner.invoke(token_app, ["create", "--role", "root", "--name", "x"])
    assert bad_role.exit_code != 0


def test_audit_verify_and_checkpoint(settings: HubSettings) -> None:
    _, log = _open(settings)
    upgrade_state(log.engine)
    fill(log, 6)
    assert runner.invoke(audit_app, ["verify"]).exit_code == 2  # intact, but unwitnessed
    written = runner.invoke(audit_app, ["checkpoint"])
    assert written.exit_code == 0, written.output
    (checkpoint,) = (settings.home / "audit").glob("checkpoint-*.json")
    assert json.loads(checkpoint.read_text())["seq"] == 6

    ok = runner.invoke(audit_app, ["verify", "--json"])
    assert ok.exit_code == 2
    assert json.loads(ok.stdout)["checkpoints"][0]["ok"] is True

    tamper(_state_file(settings), "DELETE FROM audit_events WHERE seq = 6")
    truncated = runner.invoke(audit_app, ["verify"])
    assert truncated.exit_code == 1
    assert "record 6" in truncated.stdout

    tamper(_state_file(settings), set_field(3, "purpose", "'emergency'"))
    edited = runner.invoke(audit_app, ["verify", "--json"])
    assert edited.exit_code == 1
    assert json.loads(edited.stdout)["chain"]["first_bad_seq"] == 3


def test_verify_with_an_external_public_key(settings: HubSettings) -> None:
    key = runner.invoke(audit_app, ["public-key"])
    assert key.exit_code == 0
    public = key.stdout.strip()
    assert len(public) == 64
    assert runner.invoke(audit_app, ["checkpoint"]).exit_code == 0
    assert runner.invoke(audit_app, ["verify", "--public-key", public]).exit_code == 2
    wrong = "00" * 32
    assert runner.invoke(audit_app, ["verify", "--public-key", wrong]).exit_code == 1
