"""The demo's planted loops, read back with `hub corrections|requests|referrals list|show`,
and the daily digest rendered in Chinese and sent to a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import json
from datetime import date
from email import policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from hub.casework.demo_plant import plant_demo_loops
from hub.cli.main import app
from hub.settings import HubSettings
from hub.state.migrate import open_state_store
from hub.web.state import stores
from tests.casework.conftest import _residents
from tests.server_kit import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.SMTP))
        return "250 OK"


@pytest.fixture
def planted(district_home: HubSettings, monkeypatch: pytest.MonkeyPatch) -> HubSettings:
    monkeypatch.setenv("HUB_HOME", str(district_home.home))
    street = _residents(district_home)[1]
    engine = open_state_store(district_home.resolved_state_url)
    try:
        counts = plant_demo_loops(district_home, engine, street)
        again = plant_demo_loops(district_home, engine, street)
        users = stores(engine, district_home)[0]
        users.create("demo-department", "department", ["elderly_care"], "pw-demo-12345")
        users.create("demo-admin", "admin", [], "pw-demo-12345")
    finally:
        engine.dispose()
    assert counts["corrections"] >= 2
    assert counts["sharing_requests"] == 2
    assert counts["cases"] >= 1
    assert again == {}  # planted once
    return district_home


def _json(args: list[str]) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_planted_items_through_the_command_line(planted: HubSettings) -> None:
    runner = CliRunner()
    corrections = _json(["corrections", "list"])
    overdue = _json(["corrections", "list", "--status", "overdue"])
    requests = _json(["requests", "list"])
    cases = _json(["referrals", "list"])
    table = runner.invoke(app, ["corrections", "list"])
    shown = runner.invoke(app, ["referrals", "show", cases[-1]["case_id"]])
    unknown = runner.invoke(app, ["corrections", "show", "cr-0000000000000000"])

    assert len(overdue) == 1
    assert overdue[0]["clock"]["overdue"]
    assert {c["status"] for c in corrections} >= {"open", "acknowledged"}
    assert sorted(r["status"] for r in requests) == ["approved", "pending"]
    assert [r["granted_columns"] for r in requests if r["status"] == "approved"] == \
        [["care_level"]]
    assert any(c["origin"] == "missed_benefit" and c["status"] == "referred" for c in cases)
    assert "数据更正请求" in table.stdout
    assert "已逾期" in table.stdout
    assert shown.exit_code == 0
    assert "转介" in shown.stdout
    assert unknown.exit_code == 2


def test_the_digest_goes_out_by_smtp_in_chinese(planted: HubSettings,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("HUB_CASEWORK_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("HUB_CASEWORK_SMTP_PORT", str(port))
        monkeypatch.setenv("HUB_CASEWORK_DIGEST_RECIPIENTS",
                           "demo-department=civil@example.org,demo-admin=admin@example.org")
        result = CliRunner().invoke(app, ["digest", "send"])
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    by_address = {m["To"]: m for m in handler.messages}
    assert set(by_address) == {"civil@example.org", "admin@example.org"}
    civil = by_address["civil@example.org"].get_content()
    admin = by_address["admin@example.org"].get_content()
    assert "待办事项日报" in by_address["civil@example.org"]["Subject"]
    assert "【数据更正】" in civil
    assert "【共享申请】" in civil
    assert "【转介】" in civil
    assert "已逾期" in admin
    assert "已上报管理员" in admin
    assert date.today().isoformat() in civil


def test_an_unreachable_smtp_server_is_a_configuration_error(
        planted: HubSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_CASEWORK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HUB_CASEWORK_SMTP_PORT", "9")
    monkeypatch.setenv("HUB_CASEWORK_DIGEST_RECIPIENTS", "demo-admin=admin@example.org")
    result = CliRunner().invoke(app, ["digest", "send"])
    assert result.exit_code == 4
    assert "HUB_CASEWORK_SMTP_HOST" in result.output
