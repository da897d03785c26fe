"""The three loops end to end through the API of a real server: a finding becomes a
correction request that the department's corrected upload closes by itself; sharing requests
refused, and approved with fewer columns that the API then enforces and withdraws at expiry;
a case from a missed-benefit hint through a referral to closure, the department seeing only
its referral, every step in the audit log."""

from __future__ import annotations

import csv
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sqlalchemy import update

from catalog.db import create_state_engine
from desensitize.pseudonym import Pseudonymiser
from hub.casework.calendar import default_calendar
from hub.keys.config import load_keyring
from hub.state.casework_tables import sharing_requests
from schemas.identity import normalise_resident_id
from tests.casework.conftest import HINT_RULE, Loop

pytestmark = pytest.mark.slow


def _until(api: httpx.Client, url: str, done: Any, seconds: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    body: dict[str, Any] = api.get(url).json()
    while not done(body) and time.monotonic() < deadline:
        time.sleep(0.5)
        body = api.get(url).json()
    return body


def _keys_of(loop: Loop, ids: pd.Series) -> list[Any]:
    normal = normalise_resident_id(ids.astype("string"), loop.district.demo.today).values
    with Pseudonymiser(load_keyring(loop.settings).pseudonym_key) as p:
        return list(p.pseudonymise(normal, "resident_id"))


def _actions(api: httpx.Client, resident_key: str) -> list[str]:
    events = api.get("/v1/audit/events", params={"resident_key": resident_key,
                                                 "limit": 1000}).json()["events"]
    return [e["action"] for e in events]


def test_a_finding_goes_back_to_its_owner_and_the_corrected_upload_closes_it(
        loop: Loop, tmp_path: Path) -> None:
    server = loop.server
    with server.client(loop.tokens["auditor"]) as auditor, \
            server.client(loop.tokens["civil"]) as civil, \
            server.client(loop.tokens["street_office"]) as street:
        findings = auditor.get("/v1/quality/findings",
                               params={"kind": "living_alone", "limit": 500}).json()["items"]
        assert findings, "the demo district plants living-alone conflicts"
        finding = findings[0]
        opened = auditor.post("/v1/corrections", json={"origin": "finding",
                                                      "finding_id": finding["finding_id"]})
        assert opened.status_code == 201, opened.text
        request = opened.json()
        url = f"/v1/corrections/{request['request_id']}"
        listed = civil.get("/v1/corrections").json()["items"]
        acknowledged = civil.post(f"{url}/acknowledge")
        again = civil.post(f"{url}/acknowledge")
        hidden = street.get(url)

        # The department corrects the value at source and sends the rows again as a delta.
        extract = Path(loop.district.demo.datasets["elderly_care"].path)
        rows = pd.read_csv(extract, dtype=str, keep_default_na=False, encoding="gbk")
        keys = _keys_of(loop, rows["身份证号"])
        mine = rows.loc[[str(k) == finding["resident_key"] for k in keys]].copy()
        assert len(mine) > 0
        mine["是否独居"] = mine["是否独居"].map({"是": "否", "否": "是", "": ""})
        delta = tmp_path / "elderly_care_correction.csv"
        mine.to_csv(delta, index=False, encoding="gbk", quoting=csv.QUOTE_MINIMAL)
        with delta.open("rb") as handle:
            upload = civil.post("/v1/datasets/elderly_care/uploads", data={"mode": "delta"},
                                files={"file": (delta.name, handle, "text/csv")})
        assert upload.status_code == 202, upload.text
        job = _until(civil, upload.json()["status_url"],
                     lambda b: b.get("status") not in ("queued", "running"))
        closed = _until(civil, url, lambda b: b.get("verified_at") is not None)
        summary = auditor.get("/v1/corrections/summary").json()["departments"]
        events = auditor.get("/v1/audit/events",
                             params={"resident_key": finding["resident_key"],
                                     "limit": 1000}).json()["events"]

    assert request["status"] == "open"
    assert (request["dataset"], request["department"], request["rule"]) == \
        ("elderly_care", "civil_affairs", "living_alone")
    assert request["column_name"] == "living_alone"
    due = date.fromisoformat(request["due_date"])
    assert default_calendar().is_working_day(due)
    received = default_calendar().add_working_days(date.today(), 0)  # a weekend: Monday
    assert default_calendar().working_days_between(received, due) == 10
    assert request["request_id"] in {i["request_id"] for i in listed}
    assert acknowledged.json()["status"] == "acknowledged"
    assert again.status_code == 409
    assert hidden.status_code == 404  # a street office did not ask: the request is not its
    assert (job["status"], job["outcome"]) == ("done", "loaded")
    assert closed["status"] == "corrected"
    assert closed["corrected_batch"] == job["batch_id"]
    assert [h["action"] for h in closed["history"]] == ["opened", "acknowledge", "verified"]
    civil_affairs = next(d for d in summary if d["department"] == "civil_affairs")
    assert civil_affairs["corrected"] >= 1
    assert civil_affairs["median_days_to_correct"] is not None
    actions = [e["action"] for e in events]
    assert {"correction.open", "correction.acknowledge", "correction.verified"} <= set(actions)


# The console test asks for assistance_review in this session: a purpose of its own here.
PURPOSE = "case_management"


def _apply(api: httpx.Client, columns: list[str], dataset: str = "elderly_care"
           ) -> httpx.Response:
    return api.post("/v1/sharing-requests", json={
        "dataset": dataset, "columns": columns, "purpose": PURPOSE,
        "legal_basis": "regulation", "legal_reference": "社会救助暂行办法 第十条",
        "period_start": date.today().isoformat(),
        "period_end": (date.today() + timedelta(days=180)).isoformat()})


def test_sharing_requests_refused_and_approved_with_fewer_columns_then_expired(
        loop: Loop) -> None:
    server = loop.server
    resident = f"/v1/residents/{loop.cared}"
    with server.client(loop.tokens["labour"]) as labour, \
            server.client(loop.tokens["civil"]) as civil, \
            server.client(loop.tokens["auditor"]) as auditor:
        closed_column = _apply(labour, ["diagnosis_code"], dataset="medical")
        before = labour.get(resident, params={"purpose": PURPOSE})
        refused_request = _apply(labour, ["living_alone"]).json()
        refused = civil.post(f"/v1/sharing-requests/{refused_request['request_id']}/refuse",
                             json={"reason": "too_broad"})
        asked = _apply(labour, ["care_level", "living_alone", "program", "amount"]).json()
        own_approval = labour.post(f"/v1/sharing-requests/{asked['request_id']}/approve",
                                   json={})
        approved = civil.post(f"/v1/sharing-requests/{asked['request_id']}/approve",
                              json={"columns": ["care_level", "program"]})
        granted = labour.get(resident, params={"purpose": PURPOSE})
        other_purpose = labour.get(resident, params={"purpose": "emergency"})
        grid = labour.get(f"/v1/grids/{loop.street}001001/residents",
                          params={"purpose": PURPOSE})

        # Time passes: the grant's last day was yesterday.
        engine = create_state_engine(loop.settings.resolved_state_url)
        with engine.begin() as conn:
            conn.execute(update(sharing_requests).where(
                sharing_requests.c.request_id == asked["request_id"]).values(
                granted_until=date.today() - timedelta(days=1)))
        engine.dispose()
        expired_read = labour.get(resident, params={"purpose": PURPOSE})
        listed = labour.get("/v1/sharing-requests").json()["items"]
        events = auditor.get("/v1/audit/events", params={"actor": "loop-labour",
                                                         "limit": 1000})

    assert closed_column.status_code == 422
    assert closed_column.json()["type"].endswith("/not-requestable")
    assert before.status_code == 403
    assert refused_request["status"] == "pending"
    assert default_calendar().is_working_day(date.fromisoformat(refused_request["due_date"]))
    assert refused.json()["status"] == "refused"
    assert refused.json()["refusal_reason"] == "too_broad"
    assert own_approval.status_code == 403  # only the owner answers
    assert approved.status_code == 200, approved.text
    assert approved.json()["granted_columns"] == ["care_level", "program"]

    assert granted.status_code == 200, granted.text
    view = granted.json()
    assert set(view) == {"resident_key", "today", "departments", "granted"}
    assert [d["dataset"] for d in view["departments"]] == ["elderly_care"]
    block = view["departments"][0]
    assert set(block["attributes"]) <= {"care_level"}
    fact_fields = {k for f in block["facts"] for k in f}
    assert "program" in fact_fields
    assert not fact_fields & {"amount", "quantity", "unit", "period_start", "kind"}
    assert other_purpose.status_code == 403
    assert grid.status_code in (403, 404)

    assert expired_read.status_code == 403
    statuses = {i["request_id"]: i["status"] for i in listed}
    assert statuses[asked["request_id"]] == "expired"
    assert statuses[refused_request["request_id"]] == "refused"
    assert events.status_code == 200


def test_a_case_from_a_missed_benefit_hint_through_referral_to_closure(loop: Loop) -> None:
    server = loop.server
    with server.client(loop.tokens["street_office"]) as street, \
            server.client(loop.tokens["civil"]) as civil, \
            server.client(loop.tokens["labour"]) as labour, \
            server.client(loop.tokens["admin"]) as admin:
        opened = street.post("/v1/referrals/from-hint", json={
            "resident_key": loop.hinted, "kind": "missed_benefit", "rule": HINT_RULE,
            "purpose": "case_management"})
        assert opened.status_code == 201, opened.text
        case = opened.json()
        case_url = f"/v1/referrals/{case['case_id']}"
        wrong_hint = street.post("/v1/referrals/from-hint", json={
            "resident_key": loop.hinted, "kind": "overlap", "rule": HINT_RULE})
        note = street.post(f"{case_url}/notes", json={"text": "入户走访：老人行动不便"})
        notes = street.get(f"{case_url}/notes")
        received = civil.get("/v1/referrals").json()["items"]
        referral = next(r for r in received if r["case_id"] == case["case_id"])
        case_by_civil = civil.get(case_url)
        notes_by_civil = civil.get(f"{case_url}/notes")
        not_theirs = labour.get(f"/v1/referrals/received/{referral['referral_id']}")
        responded = civil.post(f"/v1/referrals/received/{referral['referral_id']}/respond",
                               json={"response": "granted"})
        early_close_by_civil = civil.post(f"{case_url}/close",
                                          json={"evaluation": "need_met", "satisfaction": 5})
        closed = street.post(f"{case_url}/close",
                             json={"evaluation": "need_met", "satisfaction": 5})
        actions = _actions(admin, loop.hinted)
        grid = pd.read_csv(loop.district.demo.datasets["grid"].path, dtype=str,
                           keep_default_na=False, encoding="utf-8")
        raw = next(r for r, k in zip(grid["身份证号"], _keys_of(loop, grid["身份证号"]),
                                     strict=True) if str(k) == loop.hinted)
        report = admin.post("/v1/admin/access-report", json={"id_number": raw})

    assert (case["origin"], case["hint_rule"], case["status"]) == \
        ("missed_benefit", HINT_RULE, "referred")
    assert case["assessment"] == ["benefit_not_received"]
    [sent] = case["referrals"]
    assert (sent["to_kind"], sent["to_code"], sent["service"]) == \
        ("department", "civil_affairs", "age_allowance")
    assert default_calendar().is_working_day(date.fromisoformat(sent["due_date"]))
    assert wrong_hint.status_code == 422
    assert note.status_code == 201
    assert [n["text"] for n in notes.json()["items"]] == ["入户走访：老人行动不便"]

    # The department sees its referral: the resident key, the service, the due date.
    assert set(referral) <= {"referral_id", "case_id", "resident_key", "to_kind", "to_code",
                             "service", "status", "response", "responded_at", "created_at",
                             "due_date", "clock"}
    assert referral["resident_key"] == loop.hinted
    assert case_by_civil.status_code == 404
    assert notes_by_civil.status_code == 404
    assert not_theirs.status_code == 404
    assert responded.json()["status"] == "done"
    assert early_close_by_civil.status_code == 404
    assert closed.json()["status"] == "closed"
    assert (closed.json()["evaluation"], closed.json()["satisfaction"]) == ("need_met", 5)
    assert closed.json()["referrals"][0]["response"] == "granted"
    for step in ("case.open", "case.accept", "case.assess", "case.refer", "case.note.add",
                 "case.notes.read", "referral.respond", "case.close"):
        assert step in actions, step
    # The resident's access report shows who read the case notes.
    looked = [e for e in report.json()["events"] if e["action"] == "case.notes.read"]
    assert looked
    assert {e["actor"] for e in looked} == {"loop-street"}
