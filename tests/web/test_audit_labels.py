"""The audit log page says what happened in Chinese: every action and outcome the hub writes
has a label, and a refusal reads as the refusal and its reason."""

from __future__ import annotations

import pytest

from hub.api.routers.admin import ACCESS_REPORT_ACTION
from hub.api.routers.residents import REVEAL_ACTION
from hub.web.accounts import LoginOutcome
from hub.web.audit_labels import action_label, outcome_label

ACTIONS = ["resident.search", "resident.read", "household.read", "grid.list", "grid.download",
           REVEAL_ACTION, ACCESS_REPORT_ACTION, "export", "console.login", "linkage.review",
           *(f"{where}.admin.{change}" for where in ("console", "cli")
             for change in ("user.create", "user.disable", "user.reset_password",
                            "token.create", "token.revoke")),
           "correction.open", "correction.acknowledge", "correction.escalate",
           "correction.verified", "correction.still_seen", "sharing.apply", "sharing.approve",
           "sharing.refuse", "sharing.expire", "case.open", "case.accept", "case.assess",
           "case.plan", "case.refer", "case.close", "case.note.add", "case.notes.read",
           "referral.respond"]


@pytest.mark.parametrize("code", ACTIONS)
def test_every_action_has_a_chinese_label(code: str) -> None:
    text = action_label(code)
    assert text != code
    assert not any(part in text for part in code.split(".") if part.isascii() and
                   part not in ("API",)), text


def test_outcomes_and_refusals_read_in_chinese() -> None:
    for outcome in LoginOutcome:
        assert outcome_label(outcome.value) != outcome.value
        assert "refused" not in outcome_label(outcome.value)
    assert outcome_label("refused:rate_limited") == "已拒绝（超过次数限制）"
    assert outcome_label("refused:user-exists") == "已拒绝（用户已存在）"
    assert action_label("cli.admin.token.revoke", "en") == \
        "Command-line administration：Token revoked"


def test_an_unknown_code_shows_as_itself() -> None:
    assert action_label("no.such.action") == "no.such.action"
    assert outcome_label("refused:nothing-known") == "已拒绝（nothing-known）"
