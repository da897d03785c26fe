"""Correction requests through every state on a real state store (SQLite), without a server:
dispute escalated to the admin, who reopens or withdraws; verification after a batch; a claimed
correction that the next batch of its dataset still shows goes back; overdue items escalate
once; a quality-check request closes when its check passes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from catalog.quality_store import QualityStore
from hub.audit.log import AuditLog
from hub.casework.errors import NotYourStep, StepNotAllowed
from hub.casework.inbox import escalate_overdue, inbox
from hub.casework.service import Casework
from hub.casework.verification import verify_after_batch
from hub.quality.correction_counts import correction_counts
from hub.security.roles import Principal, Role
from hub.settings import HubSettings
from hub.state.migrate import open_state_store

KEY = "0" * 31 + "1"
CIVIL = Principal("t1", "civil", Role.DEPARTMENT, ("elderly_care",))
ADMIN = Principal("t2", "admin", Role.ADMIN, ())
AUDITOR = Principal("t3", "auditor", Role.AUDITOR, ())
TODAY = date(2026, 12, 4)


def _finding(kind: str = "living_alone") -> dict[str, Any]:
    return {"kind": kind, "resident_key": KEY, "datasets": ["elderly_care", "grid"],
            "departments": ["civil_affairs", "grid_management_centre"], "detail": "differs"}


@pytest.fixture
def engine(settings: HubSettings) -> Iterator[Engine]:
    made = open_state_store(settings.resolved_state_url)
    yield made
    made.dispose()


@pytest.fixture
def work(engine: Engine, settings: HubSettings) -> Casework:
    return Casework.open(engine, AuditLog(engine), settings.casework)


def _finding_id(engine: Engine) -> str:
    QualityStore(engine).refresh_findings(["living_alone"], [_finding()])
    return str(QualityStore(engine).list_findings()[0]["finding_id"])


def test_a_dispute_goes_to_the_admin_who_reopens_then_withdraws(work: Casework,
                                                               engine: Engine) -> None:
    made = work.corrections.from_finding(AUDITOR, _finding_id(engine), TODAY)
    rid = made["request_id"]
    assert made["dataset"] == "elderly_care"  # the registry is not the default addressee
    with pytest.raises(NotYourStep):
        work.corrections.dispute(AUDITOR, rid, "value_is_right", TODAY)
    disputed = work.corrections.dispute(CIVIL, rid, "value_is_right", TODAY)
    assert disputed["status"] == "disputed"
    assert rid in {i["id"] for i in inbox(work, ADMIN, TODAY)}
    with pytest.raises(NotYourStep):
        work.corrections.reopen(CIVIL, rid, TODAY)
    reopened = work.corrections.reopen(ADMIN, rid, TODAY)
    assert reopened["status"] == "acknowledged"
    assert [h["action"] for h in reopened["history"]] == ["opened", "dispute", "reopen"]
    withdrawn = work.corrections.withdraw(ADMIN, rid, TODAY)
    assert withdrawn["status"] == "withdrawn"
    with pytest.raises(StepNotAllowed):
        work.corrections.acknowledge(CIVIL, rid, TODAY)


def test_a_claimed_correction_still_seen_goes_back_then_closes_when_resolved(
        work: Casework, engine: Engine) -> None:
    rid = work.corrections.from_finding(AUDITOR, _finding_id(engine), TODAY)["request_id"]
    work.corrections.correct(CIVIL, rid, "elderly_care-20261204T000000-aaaaaaaa", TODAY)
    still = verify_after_batch(engine, work.steps.audit, "elderly_care-b1", "elderly_care")
    assert still == {"verified": 0, "reopened": 1}
    assert work.corrections.get(AUDITOR, rid, TODAY)["status"] == "acknowledged"
    QualityStore(engine).refresh_findings(["living_alone"], [])  # the next batch: gone
    done = verify_after_batch(engine, work.steps.audit, "elderly_care-b2", "elderly_care")
    item = work.corrections.get(AUDITOR, rid, TODAY)
    assert done == {"verified": 1, "reopened": 0}
    assert (item["status"], item["corrected_batch"]) == ("corrected", "elderly_care-b2")
    assert item["verified_at"] is not None
    [civil] = correction_counts(engine, TODAY)  # the quality overview's figures
    assert (civil["department"], civil["open"], civil["corrected"]) == ("civil_affairs", 0, 1)
    assert civil["median_days_to_correct"] is not None


def test_overdue_items_escalate_once(work: Casework, engine: Engine) -> None:
    late = TODAY - timedelta(days=40)
    rid = work.corrections.from_finding(AUDITOR, _finding_id(engine), late)["request_id"]
    first = escalate_overdue(work, TODAY)
    second = escalate_overdue(work, TODAY)
    item = work.corrections.get(AUDITOR, rid, TODAY)
    assert first["correction"] == 1
    assert second["correction"] == 0
    assert item["clock"]["overdue"]
    assert [h["action"] for h in item["history"]][-1] == "escalated"
    assert any(i["id"] == rid and i["escalated"] for i in inbox(work, ADMIN, TODAY))


def test_a_quality_request_closes_when_the_check_passes(work: Casework,
                                                        engine: Engine) -> None:
    rid = work.corrections.from_quality(AUDITOR, "elderly_care", "elderly_care-b0",
                                        "care_level", "care_level_in_set", TODAY)["request_id"]
    QualityStore(engine).record_batch_result({
        "batch_id": "elderly_care-b3", "dataset": "elderly_care", "score": 1.0,
        "evaluated_at": "2026-12-04T10:00:00+00:00",
        "expectations": [{"id": "care_level_in_set", "success": True}]})
    assert verify_after_batch(engine, work.steps.audit, "elderly_care-b3",
                              "elderly_care")["verified"] == 1
    assert work.corrections.get(AUDITOR, rid, TODAY)["status"] == "corrected"
