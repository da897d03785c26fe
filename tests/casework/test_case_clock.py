"""A case's clock runs per step: a case accepted on time is not late however long it has been
open; a step past its due date escalates the case to the admin once, and the next step
clears it. A confidential note never holds an ID or phone number."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine

from hub.audit.log import AuditLog
from hub.casework.errors import ItemInvalid
from hub.casework.inbox import escalate_overdue, inbox
from hub.casework.service import Casework
from hub.security.roles import Principal, Role
from hub.settings import HubSettings
from hub.state.migrate import open_state_store

STREET = Principal("t1", "street", Role.STREET_OFFICE, ("110105001",))
ADMIN = Principal("t2", "admin", Role.ADMIN, ())
TODAY = date(2026, 12, 4)
LONG_AGO = TODAY - timedelta(days=40)


@pytest.fixture
def work(settings: HubSettings) -> Iterator[Casework]:
    engine: Engine = open_state_store(settings.resolved_state_url)
    yield Casework.open(engine, AuditLog(engine), settings.casework)
    engine.dispose()


def _open(work: Casework, day: date, key_digit: str) -> str:
    made = work.cases.open(STREET, key_digit * 32, "110105001", day)
    return str(made["case_id"])


def test_each_step_restarts_the_clock(work: Casework) -> None:
    case_id = _open(work, LONG_AGO, "1")
    assert work.cases.get(STREET, case_id, TODAY)["clock"]["overdue"]  # not accepted in time
    accepted = work.cases.accept(STREET, case_id, TODAY)
    assert not accepted["clock"]["overdue"]
    assert date.fromisoformat(str(accepted["due_date"])) > TODAY


def test_a_late_step_escalates_the_case_once_and_the_next_step_clears_it(
        work: Casework) -> None:
    late = _open(work, LONG_AGO, "2")
    on_time = _open(work, TODAY, "3")
    assert escalate_overdue(work, TODAY)["case"] == 1
    assert escalate_overdue(work, TODAY)["case"] == 0  # once
    escalated = {i["id"] for i in inbox(work, ADMIN, TODAY) if i["escalated"]}
    assert late in escalated
    assert on_time not in escalated
    work.cases.accept(STREET, late, TODAY)
    assert late not in {i["id"] for i in inbox(work, ADMIN, TODAY) if i["escalated"]}


@pytest.mark.parametrize("text", ["身份证 11010519491231002X 需核实", "电话 138 0013 8000",
                                  "旧证号110105491231002"],
                         ids=["ID number", "mobile with spaces", "15-digit ID"])
def test_a_note_with_an_identifier_is_refused_without_repeating_it(work: Casework,
                                                                    text: str) -> None:
    case_id = _open(work, TODAY, "4")
    with pytest.raises(ItemInvalid) as refused:
        work.cases.add_note(STREET, case_id, text, TODAY)
    assert not any(run in str(refused.value) for run in ("1101", "0013", "8000"))
    assert work.cases.add_note(STREET, case_id, "入户走访，约定下周复访", TODAY)["note_id"]
