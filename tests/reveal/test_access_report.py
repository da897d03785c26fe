"""The resident's right to know: `hub access-report` and POST /v1/admin/access-report list the
look-ups, reveals and refusals made about a resident, with their purposes, also those recorded
under a pseudonym that a key rotation has since replaced."""

from __future__ import annotations

import getpass
import json
import sqlite3
import subprocess
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from desensitize.vault import VaultCipher
from hub.audit.log import AuditLog
from hub.cli.main import app
from hub.keys.config import load_keyring
from hub.keys.history import RESIDENT_DOMAIN, seal_previous
from tests.api.conftest import District
from tests.reveal.conftest import Tokens, client, records_of
from tests.server_kit import ROOT, Server, hub_command, hub_env

pytestmark = pytest.mark.slow
OLD_KEY = "feedfacefeedfacefeedfacefeedface"  # the resident's key before a simulated rotation


def cli_report(district: District, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*hub_command(), "access-report", "--id-number", "-", "--json"],
                          input=stdin, capture_output=True, text=True,
                          env=hub_env(district.settings.home), cwd=ROOT, timeout=120)


def cli_user() -> str:
    return getpass.getuser()


def has(events: list[dict[str, Any]], **expected: Any) -> bool:
    return any(all(e.get(k) == v for k, v in expected.items()) for e in events)


@pytest.fixture(scope="module")
def accesses(server: Server, district: District, tokens: Tokens) -> dict[str, str]:
    """A look-up, a household read, a reveal and a refused read, made here; their actors."""
    street, street_token = tokens.new("street_office", [district.street], "street-lookup")
    outsider, outsider_token = tokens.new("street_office", [district.other.street],
                                          "street-outsider")
    admin, admin_token = tokens.new("admin", [], "admin-case")
    with client(server.base_url, street_token) as api:
        found = api.post("/v1/residents/search", json={"id_number": district.mine.raw_id,
                                                        "purpose": "assistance_review"})
        household = api.get(f"/v1/households/{district.mine.household_key}",
                            params={"purpose": "case_management"})
    with client(server.base_url, admin_token) as api:
        revealed = api.post(f"/v1/residents/{district.mine.key}/reveal",
                            json={"purpose": "emergency", "case_reference": "EM-7"})
    with client(server.base_url, outsider_token) as api:
        refused = api.get(f"/v1/residents/{district.mine.key}", params={"purpose": "emergency"})
    assert (found.status_code, household.status_code, revealed.status_code,
            refused.status_code) == (200, 200, 200, 404)
    return {"street": street.split(":", 1)[1], "admin": admin.split(":", 1)[1],
            "outsider": outsider.split(":", 1)[1]}


def assert_lists_the_accesses(events: list[dict[str, Any]], actors: dict[str, str]) -> None:
    assert has(events, actor=actors["street"], action="resident.search",
               purpose="assistance_review", outcome="granted", subject="resident")
    assert has(events, actor=actors["street"], action="household.read",
               purpose="case_management", outcome="granted", subject="household")
    assert has(events, actor=actors["admin"], action="reveal", purpose="emergency",
               outcome="granted")
    assert has(events, actor=actors["outsider"], action="resident.read", purpose="emergency",
               outcome="refused:forbidden")
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert all(":" not in e["actor"] and "hub_" not in e["actor"] for e in events)


def test_endpoint_lists_lookups_reveals_and_refusals(
        server: Server, district: District, engine: Engine, tokens: Tokens,
        accesses: dict[str, str]) -> None:
    actor, token = tokens.new("admin", [], "admin-report")
    with client(server.base_url, token) as api:
        response = api.post("/v1/admin/access-report", json={"id_number": district.mine.raw_id})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert district.mine.raw_id.encode() not in response.content
    assert_lists_the_accesses(response.json()["events"], accesses)
    record = records_of(engine, request_id=response.headers["x-request-id"])
    assert [(r["action"], r["outcome"], r["actor"], r["resident_key"]) for r in record] == [
        ("access_report", "granted", actor, district.mine.key)]


def test_endpoint_refuses_non_admins_and_bad_numbers_without_echo(
        server: Server, district: District, engine: Engine, tokens: Tokens) -> None:
    _, admin = tokens.new("admin", [], "admin-bad-report")
    _, auditor = tokens.new("auditor", [], "auditor-report")
    bad_id = district.mine.raw_id[:-1] + ("0" if district.mine.raw_id[-1] != "0" else "1")
    with client(server.base_url, auditor) as api:
        forbidden = api.post("/v1/admin/access-report", json={"id_number": district.mine.raw_id})
    with client(server.base_url, admin) as api:
        invalid = api.post("/v1/admin/access-report", json={"id_number": bad_id})
        extra = api.post("/v1/admin/access-report",
                         json={"id_number": district.mine.raw_id, "note": district.mine.raw_id})
    assert forbidden.status_code == 403
    assert invalid.status_code == extra.status_code == 422
    errors = invalid.json()["errors"]
    assert errors == [{"field": "body.id_number", "rule": "resident_id:check_character"}]
    for response in (forbidden, invalid, extra):
        assert district.mine.raw_id.encode() not in response.content
        assert bad_id.encode() not in response.content
        (record,) = records_of(engine, request_id=response.headers["x-request-id"])
        assert record["action"] == "access_report"
        assert bad_id not in str(record["detail"])


def test_cli_rejects_an_invalid_number_naming_the_rule_only(
        district: District, monkeypatch: pytest.MonkeyPatch) -> None:
    bad_id = district.mine.raw_id[:-1] + ("0" if district.mine.raw_id[-1] != "0" else "1")
    monkeypatch.setenv("HUB_HOME", str(district.settings.home))
    result = CliRunner().invoke(app, ["access-report", "--id-number", "-"], input=bad_id + "\n")
    assert result.exit_code == 2
    assert "resident_id:check_character" in result.output
    assert bad_id not in result.output


def test_cli_after_a_rotation_lists_the_accesses_and_the_old_keys_records(
        server: Server, district: District, audit: AuditLog, tokens: Tokens,
        accesses: dict[str, str]) -> None:
    """Simulated pseudonym rotation: the resident's records written before it carry OLD_KEY,
    and the key history (sealed under the vault key, bound to the current key) links them.
    Runs after the endpoint tests, so the admin's access report is listed too."""
    seq = audit.append(actor="0000000000000000:old-street", role="street_office",
                       scope=[district.street], action="resident.read", purpose="emergency",
                       resident_key=OLD_KEY, outcome="granted")
    sealed = seal_previous(VaultCipher(load_keyring(district.settings).vault_key),
                           RESIDENT_DOMAIN, district.mine.key, OLD_KEY)
    with sqlite3.connect(district.settings.vault_store_path) as con:
        con.execute("INSERT INTO key_history (domain, current_key, sealed_previous, epoch) "
                    "VALUES (?, ?, ?, 1)", (RESIDENT_DOMAIN, district.mine.key, sealed))
    result = cli_report(district, district.mine.raw_id + "\n")
    assert result.returncode == 0, result.stderr
    assert district.mine.raw_id not in result.stdout + result.stderr
    report = json.loads(result.stdout)
    events = report["events"]
    assert_lists_the_accesses(events, accesses)
    assert has(events, action="access_report", role="admin", outcome="granted")
    assert has(events, seq=seq, earlier_key=True, actor="old-street", purpose="emergency")
    assert not any(e["earlier_key"] for e in events if e["seq"] != seq)
    assert report["resident_keys_searched"] == 2
    _, token = tokens.new("admin", [], "admin-after-rotation")
    with client(server.base_url, token) as api:
        response = api.post("/v1/admin/access-report", json={"id_number": district.mine.raw_id})
    assert has(response.json()["events"], seq=seq, earlier_key=True)
    # The CLI recorded its own report before printing it.
    assert has(response.json()["events"], action="access_report", purpose="access_request",
               actor=cli_user())


def test_reports_leave_the_audit_chain_intact(audit: AuditLog) -> None:
    assert audit.verify().ok


def test_no_identifier_reached_the_server_logs(server: Server, district: District) -> None:
    log = server.log_text()
    assert district.mine.raw_id not in log
    assert not any(name in log for name in district.needles["name"])
