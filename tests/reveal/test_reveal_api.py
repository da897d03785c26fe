"""Re-identification end to end against real `hub serve` processes: who may reveal, what comes
back (the demo files' own identifiers), jurisdiction, the rate limit, and one audit record
per attempt written before any data."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from hub.api.app import create_app
from hub.audit.errors import AuditWriteFailed
from hub.audit.log import AuditLog
from schemas.identity import normalise_phone, normalise_resident_id
from tests.api.conftest import District
from tests.reveal.conftest import OPEN_RATE_LIMIT, Tokens, client, records_of
from tests.server_kit import Server

pytestmark = pytest.mark.slow
BODY = {"purpose": "case_management", "case_reference": "SO-2026-0042"}
UNKNOWN_KEY = "0123456789abcdef0123456789abcdef"


def reveal(api: httpx.Client, key: str, body: object = BODY) -> httpx.Response:
    return api.post(f"/v1/residents/{key}/reveal", json=body)


def one_record(engine: Engine, response: httpx.Response) -> dict[str, object]:
    """The audit record of this response's request; exactly one must exist."""
    records = records_of(engine, request_id=response.headers["x-request-id"])
    assert len(records) == 1, records
    assert records[0]["action"] == "reveal"
    return records[0]


def grid_truth(district: District) -> dict[str, set[str]]:
    """The resident's identifiers as the grid registry file writes them (normalised the way
    the contracts normalise ID numbers and phones)."""
    grid = pd.read_csv(district.demo.datasets["grid"].path, dtype=str, encoding="utf-8")
    row = grid[grid["身份证号"] == district.mine.raw_id].iloc[0]
    ident = normalise_resident_id(pd.Series([row["身份证号"]], dtype="string"),
                                  district.demo.today).values.iloc[0]
    phone = normalise_phone(pd.Series([row["联系电话"]], dtype="string")).values.iloc[0]
    return {"resident_id": {str(ident)}, "name": {str(row["姓名"])}, "phone": {str(phone)},
            "address": {str(row["住址"])}, "household_id": {str(row["户编号"])}}


def test_admin_reveal_returns_the_files_identifiers(server: Server, district: District,
                                                    engine: Engine, tokens: Tokens) -> None:
    actor, token = tokens.new("admin", [], "admin-reveal")
    with client(server.base_url, token) as api:
        response = reveal(api, district.mine.key)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    fields = body["fields"]
    for field, expected in grid_truth(district).items():
        if field == "household_id" and field not in fields:
            continue  # vaulted only once the grid contract flags it (key rotation work)
        values = {item["value"] for item in fields[field]}
        assert expected <= values, field
        grid_sources = [s for item in fields[field] if item["value"] in expected
                        for s in item["sources"]]
        assert {s["dataset"] for s in grid_sources} <= {"grid", "elderly_care", "medical",
                                                        "employment"}
    assert fields["resident_id"][0]["value"] == next(iter(grid_truth(district)["resident_id"]))
    record = one_record(engine, response)
    assert record["outcome"] == "granted"
    assert record["actor"] == actor
    assert record["purpose"] == "case_management"
    assert record["resident_key"] == district.mine.key
    assert body["audit_seq"] == record["seq"]
    detail = str(record["detail"])
    assert "SO-2026-0042" in detail
    assert "resident_id" in detail
    for values in grid_truth(district).values():  # field names, never values
        assert not any(v in detail for v in values)


def test_department_auditor_and_anonymous_are_refused(server: Server, district: District,
                                                      engine: Engine, tokens: Tokens) -> None:
    for role, scope in (("department", ["elderly_care"]), ("auditor", [])):
        _, token = tokens.new(role, scope, f"{role}-reveal")
        with client(server.base_url, token) as api:
            response = reveal(api, district.mine.key)
        assert response.status_code == 403, role
        assert response.headers["content-type"].startswith("application/problem+json")
        assert one_record(engine, response)["outcome"] == "refused:role"
    with client(server.base_url, None) as api:
        response = reveal(api, district.mine.key)
    assert response.status_code == 401
    assert one_record(engine, response)["outcome"] == "refused:unauthenticated"


def test_street_office_may_not_reveal_by_default(server: Server, district: District,
                                                 engine: Engine, tokens: Tokens) -> None:
    _, token = tokens.new("street_office", [district.street], "street-default")
    with client(server.base_url, token) as api:
        response = reveal(api, district.mine.key)
    assert response.status_code == 403
    record = one_record(engine, response)
    assert record["outcome"] == "refused:role"
    assert record["resident_key"] == district.mine.key  # the attempt shows in the report


def test_street_office_reveals_only_its_own_residents_when_enabled(
        open_server: Server, district: District, engine: Engine, tokens: Tokens) -> None:
    _, token = tokens.new("street_office", [district.street], "street-open")
    with client(open_server.base_url, token) as api:
        own = reveal(api, district.mine.key)
        outside = reveal(api, district.other.key)
        unknown = reveal(api, UNKNOWN_KEY)
    assert own.status_code == 200, own.text
    assert district.mine.key == own.json()["resident_key"]
    # Outside the jurisdiction: the very bytes of "no such resident".
    assert outside.status_code == unknown.status_code == 404
    assert outside.content == unknown.content
    assert outside.headers["content-type"] == unknown.headers["content-type"]
    assert one_record(engine, own)["outcome"] == "granted"
    assert one_record(engine, outside)["outcome"] == "refused:forbidden"
    assert one_record(engine, unknown)["outcome"] == "not_found"


def test_rate_limit_refuses_the_attempt_after_the_limit_and_logs_it(
        open_server: Server, district: District, engine: Engine, tokens: Tokens) -> None:
    actor, token = tokens.new("admin", [], "admin-limit")
    with client(open_server.base_url, token) as api:
        answers = [reveal(api, district.mine.key) for _ in range(OPEN_RATE_LIMIT + 1)]
    assert [r.status_code for r in answers] == [200] * OPEN_RATE_LIMIT + [429]
    refused = answers[-1]
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert "fields" not in refused.json()
    assert one_record(engine, refused)["outcome"] == "refused:rate_limited"
    outcomes = [r["outcome"] for r in records_of(engine, actor=actor)]
    assert outcomes == ["granted"] * OPEN_RATE_LIMIT + ["refused:rate_limited"]


def test_rate_limit_holds_across_worker_processes_under_concurrency(
        open_server: Server, district: District, engine: Engine, tokens: Tokens) -> None:
    actor, token = tokens.new("admin", [], "admin-burst")
    attempts = 3 * OPEN_RATE_LIMIT

    def one(_: int) -> int:
        with client(open_server.base_url, token) as api:  # own connection: spreads workers
            return reveal(api, district.mine.key).status_code

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        statuses = list(pool.map(one, range(attempts)))
    assert statuses.count(200) == OPEN_RATE_LIMIT
    assert statuses.count(429) == attempts - OPEN_RATE_LIMIT
    assert len(records_of(engine, actor=actor)) == attempts


def test_bad_requests_are_refused_logged_and_never_echoed(
        server: Server, district: District, engine: Engine, tokens: Tokens) -> None:
    _, token = tokens.new("admin", [], "admin-bad")
    raw_id, name = district.mine.raw_id, next(iter(grid_truth(district)["name"]))
    bad_bodies: list[tuple[object, int, str]] = [
        ({"purpose": raw_id, "case_reference": "SO-1"}, 400, "refused:purpose_invalid"),
        ({"purpose": "assistance_review", "case_reference": "SO-1"}, 400,
         "refused:purpose_invalid"),  # a look-up purpose is not a reveal purpose
        ({"case_reference": "SO-1"}, 400, "refused:purpose_required"),
        ({"purpose": "emergency", "case_reference": raw_id}, 422, "refused:invalid_request"),
        ({"purpose": "emergency", "case_reference": name}, 422, "refused:invalid_request"),
        ({"purpose": "emergency", "case_reference": "SO-1", "name": name}, 422,
         "refused:invalid_request"),
        ({"purpose": "emergency"}, 422, "refused:invalid_request"),
    ]
    with client(server.base_url, token) as api:
        answers = [(reveal(api, district.mine.key, body), status, outcome)
                   for body, status, outcome in bad_bodies]
        raw = api.post(f"/v1/residents/{district.mine.key}/reveal",
                       content=b'{"purpose": "' + raw_id.encode() + b'"',
                       headers={"content-type": "application/json"})
        answers.append((raw, 422, "refused:invalid_request"))
        in_path = api.post(f"/v1/residents/{raw_id}/reveal", json=BODY)
        answers.append((in_path, 422, "refused:invalid_request"))
    for response, status, outcome in answers:
        assert response.status_code == status, response.text
        assert raw_id.encode() not in response.content
        assert name.encode("utf-8") not in response.content
        record = one_record(engine, response)
        assert record["outcome"] == outcome
        assert raw_id not in str(record["detail"])
        assert name not in str(record["detail"])
    assert "body.case_reference" in answers[3][0].json()["detail"]
    assert {"field": "body.case_reference", "rule": "case_reference_digits"} in \
        answers[3][0].json()["errors"]


def test_a_failed_audit_append_reveals_nothing(district: District, tokens: Tokens) -> None:
    def broken(**_: Any) -> int:
        raise AuditWriteFailed("sqlite:///state.sqlite", "OperationalError")

    _, token = tokens.new("admin", [], "admin-no-audit")
    with TestClient(create_app(district.settings)) as api:
        api.app.state.services.audit.append = broken  # type: ignore[attr-defined]
        response = api.post(f"/v1/residents/{district.mine.key}/reveal", json=BODY,
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "fields" not in response.json()
    for values in grid_truth(district).values():
        assert not any(v.encode() in response.content for v in values)


def test_audit_chain_still_verifies(server: Server, audit: AuditLog) -> None:
    assert audit.verify().ok
