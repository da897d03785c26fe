"""An auditor's machine keeps the hub's checkpoints: `hub audit fetch-checkpoints` over real
HTTP with an auditor token, then `hub audit verify --checkpoint-dir` with the pinned public
key; other roles may not list checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.audit.log import AuditLog
from hub.audit.publisher import CheckpointPublisher
from hub.cli.security import audit_app
from hub.keys.config import load_security_keys
from hub.settings import HubSettings
from hub.state.migrate import open_state_store
from tests.api.conftest import District, Server
from tests.security.conftest import fill

runner = CliRunner()


def test_auditor_fetches_checkpoints_and_verifies_with_them(
        server: Server, district: District, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_HOME", str(district.settings.home))
    assert runner.invoke(audit_app, ["checkpoint"]).exit_code == 0
    witness = tmp_path / "witness"
    for role in ("street_office", "department"):
        refused = runner.invoke(audit_app, ["fetch-checkpoints", "--url", server.base_url,
                                            "--out", str(witness)],
                                env={"HUB_TOKEN": district.tokens[role]})
        assert refused.exit_code == 1
        assert "refused the token" in refused.output
    fetched = runner.invoke(audit_app, ["fetch-checkpoints", "--url", server.base_url,
                                        "--out", str(witness)],
                            env={"HUB_TOKEN": district.tokens["auditor"]})
    assert fetched.exit_code == 0, fetched.output
    files = sorted(witness.glob("checkpoint-*.json"))
    assert files
    assert (witness / "public-key.txt").read_text().strip() == \
        (district.settings.audit_dir / "public-key.txt").read_text().strip()
    again = runner.invoke(audit_app, ["fetch-checkpoints", "--url", server.base_url,
                                      "--out", str(witness)], input=district.tokens["admin"])
    assert again.exit_code == 0, again.output
    assert sorted(witness.glob("checkpoint-*.json")) == files  # nothing new, nothing replaced

    verified = runner.invoke(audit_app, ["verify", "--json", "--checkpoint-dir", str(witness)])
    report = json.loads(verified.stdout)
    assert verified.exit_code == 0, verified.output
    assert report["witness"]["checkpoints"] == len(files)
    assert report["witness"]["witnessed_seq"] >= 1


def test_publisher_signs_every_n_records(settings: HubSettings) -> None:
    log = AuditLog(open_state_store(settings.resolved_state_url))
    publisher = CheckpointPublisher(log, load_security_keys(settings).signing_key(),
                                    settings.audit_dir, every_records=3, every_seconds=3600)
    fill(log, 2)
    assert publisher.publish_if_due() is None  # two records: not yet
    fill(log, 1)
    assert publisher.publish_if_due()["seq"] == 3  # type: ignore[index]
    assert publisher.publish_if_due() is None  # nothing new since
    assert (settings.audit_dir / "public-key.txt").is_file()
    assert len(list(settings.audit_dir.glob("checkpoint-*.json"))) == 1
