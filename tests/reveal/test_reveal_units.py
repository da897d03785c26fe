"""Units behind the reveal route: the per-actor limit counted from the audit log, the case
reference rule, the ID-number check of the access report."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from desensitize.pseudonym import Pseudonymiser
from hub.audit.log import AuditLog
from hub.audit.ratelimit import RATE_LIMITED, ActionRateLimit, RateLimitBusy
from hub.settings import HubSettings
from hub.state.migrate import open_state_store
from hub.vault.access_report import IdNumberInvalid, resident_key_of
from hub.vault.reveal import RevealRequest

VALID_ID = "11010519491231002X"


@pytest.fixture
def audit(state_url: str) -> Iterator[AuditLog]:
    log = AuditLog(open_state_store(state_url))
    yield log
    log.engine.dispose()


def test_limit_counts_this_actors_attempts_of_this_action(audit: AuditLog,
                                                          tmp_path: Path) -> None:
    limit = ActionRateLimit(audit, tmp_path / "reveal.lock", "reveal", 2, 3600)
    for _ in range(2):
        with limit.hold("t1:a") as verdict:
            assert verdict.allowed
            audit.append(action="reveal", outcome="granted", actor="t1:a", role="admin")
    audit.append(action="reveal", outcome="granted", actor="t2:b", role="admin")
    audit.append(action="resident.read", outcome="granted", actor="t1:a", role="admin")
    with limit.hold("t1:a") as verdict:
        assert not verdict.allowed
        assert verdict.used == 2
        assert 0 < verdict.retry_after <= 3600
        audit.append(action="reveal", outcome=RATE_LIMITED, actor="t1:a", role="admin")
    # Refusals for the limit do not count: the wait does not grow with each retry.
    assert limit.count("t1:a")[0] == 2
    assert limit.verdict("t2:b").allowed


def test_attempts_outside_the_window_no_longer_count(audit: AuditLog, tmp_path: Path) -> None:
    audit.append(action="reveal", outcome="granted", actor="t1:a", role="admin")
    assert ActionRateLimit(audit, tmp_path / "l", "reveal", 1, 3600).count("t1:a")[0] == 1
    # A window that ended before the record: nothing counted, allowed again.
    limit = ActionRateLimit(audit, tmp_path / "l", "reveal", 1, 0)
    assert limit.verdict("t1:a").allowed


def test_api_hosts_without_a_shared_folder_take_turns_on_postgresql(postgres_url: str,
                                                                     tmp_path: Path) -> None:
    """Two hosts have two lock files: on PostgreSQL the count-and-append is still one at a
    time across them."""
    engine = open_state_store(postgres_url)
    try:
        first = ActionRateLimit(AuditLog(engine), tmp_path / "a" / "l", "reveal", 1, 3600,
                                lock_timeout=0.3)
        second = ActionRateLimit(AuditLog(engine), tmp_path / "b" / "l", "reveal", 1, 3600,
                                 lock_timeout=0.3)
        with first.hold("t1:a") as verdict:
            assert verdict.allowed
            with pytest.raises(RateLimitBusy), second.hold("t1:a"):
                pass
            first.audit.append(action="reveal", outcome="granted", actor="t1:a",
                               role="admin")
        with second.hold("t1:a") as verdict:  # released: the other host counts the record
            assert not verdict.allowed
    finally:
        engine.dispose()


def test_policy_defaults_refuse_street_offices(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HUB_REVEAL_STREET_OFFICE", "HUB_REVEAL_RATE_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    policy = HubSettings().reveal
    assert policy.street_office is False
    assert policy.rate_limit == 10
    monkeypatch.setenv("HUB_REVEAL_STREET_OFFICE", "true")
    assert HubSettings().reveal.street_office is True


@pytest.mark.parametrize("reference", ["SO-2026-0042", "case/17:a", "EM-7"])
def test_case_references_that_pass(reference: str) -> None:
    assert RevealRequest(purpose="emergency", case_reference=reference).case_reference == \
        reference


@pytest.mark.parametrize(("reference", "rule"), [
    (VALID_ID, "case_reference_digits"),
    ("tel13800138000", "case_reference_digits"),
    ("张三的案子", "string_pattern_mismatch"),
    ("x", "string_too_short"),
    ("a" * 41, "string_too_long"),
])
def test_case_references_that_could_carry_an_identifier_are_refused(reference: str,
                                                                     rule: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RevealRequest(purpose="emergency", case_reference=reference)
    assert [e["type"] for e in caught.value.errors()] == [rule]


def test_access_report_key_names_the_rule_never_the_number() -> None:
    with Pseudonymiser(secrets.token_bytes(32)) as pseudonymiser:
        key = resident_key_of(pseudonymiser, VALID_ID.lower())
        assert len(key) == 32
        assert resident_key_of(pseudonymiser, f" {VALID_ID} ") == key
        with pytest.raises(IdNumberInvalid) as caught:
            resident_key_of(pseudonymiser, VALID_ID[:-1] + "1")
    assert caught.value.rule == "resident_id:check_character"
    assert VALID_ID[:-1] not in str(caught.value)
