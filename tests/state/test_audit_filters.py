"""The audit log's filters on both databases: by action, and the values a filter may take
(the console offers these as its choices and refuses any other)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from hub.audit.log import AuditLog


def _append(log: AuditLog) -> None:
    for i, (action, outcome) in enumerate([
            ("resident.search", "granted"), ("grid.list", "granted"),
            ("resident.search", "refused:forbidden"), ("console.login", "refused:locked"),
            ("resident.search", "not_found")]):
        log.append(action=action, outcome=outcome, actor=f"tok{i % 2}:office {i % 2}",
                   role="street_office", scope=["110105001"], request_id=f"req-{i}",
                   purpose="assistance_review")


def test_search_by_action_and_the_values_each_filter_takes(engine: Engine) -> None:
    log = AuditLog(engine)
    _append(log)
    searches = log.search(action="resident.search")
    refused = log.search(action="resident.search", outcome="refused")
    assert [e["seq"] for e in searches] == [5, 3, 1]  # newest first
    assert [e["outcome"] for e in refused] == ["refused:forbidden"]
    assert log.search(action="no.such.action") == []
    assert log.distinct("action") == ["console.login", "grid.list", "resident.search"]
    assert log.distinct("outcome") == ["granted", "not_found", "refused:forbidden",
                                       "refused:locked"]
    assert log.distinct("actor") == ["tok0:office 0", "tok1:office 1"]
    with pytest.raises(ValueError, match="filterable"):
        log.distinct("body")
    log.close()
