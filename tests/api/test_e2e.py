"""End to end against a real `hub serve`: look-ups, jurisdiction, purpose, uploads, audit.

The tests of this module share one server; the privacy scan at the end reads every response
body the others received and the server's whole log.
"""

from __future__ import annotations

import csv
import io
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from tests.api.conftest import District
from tests.server_kit import Server

pytestmark = pytest.mark.slow
PURPOSE = "assistance_review"
ID_PATTERN = re.compile(rb"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
PHONE_PATTERN = re.compile(rb"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def test_street_office_finds_a_resident_with_totals_equal_to_the_extracts(
        server: Server, district: District) -> None:
    with server.client(district.tokens["street_office"]) as api:
        response = api.post("/v1/residents/search",
                            json={"id_number": district.mine.raw_id, "purpose": PURPOSE})
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["resident_key"] == district.mine.key
    assert "*" in view["profile"]["id_number"]
    assert "*" in view["profile"]["name"]
    assert "restricted" not in view
    cash = sum((Decimal(t["amount"]) for t in view["totals"]["by_kind"] if t["kind"] == "cash"),
               Decimal(0))
    assert cash == district.cash_in_files
    by_year = sum((Decimal(t["amount"]) for t in view["totals"]["by_year"]
                   if t["kind"] == "cash"), Decimal(0))
    assert by_year == district.cash_in_files
    assert len({d["dataset"] for d in view["departments"] if d["facts"]}) >= 2


def test_the_same_resident_by_key_and_household(server: Server, district: District) -> None:
    with server.client(district.tokens["street_office"]) as api:
        by_key = api.get(f"/v1/residents/{district.mine.key}", params={"purpose": PURPOSE})
        household = api.get(f"/v1/households/{district.mine.household_key}",
                            params={"purpose": "case_management"})
        grid = api.get(f"/v1/grids/{district.mine.grid_code}/residents",
                       params={"purpose": PURPOSE, "limit": 500})
    assert by_key.status_code == 200
    assert by_key.json()["resident_key"] == district.mine.key
    assert household.status_code == 200
    assert district.mine.key in {m["resident_key"] for m in household.json()["members"]}
    assert grid.status_code == 200
    page = grid.json()
    assert district.mine.key in {r["resident_key"] for r in page["items"]}
    assert page["total"] >= len(page["items"]) > 0


def test_another_street_answers_like_a_resident_that_does_not_exist(
        server: Server, district: District) -> None:
    unknown_id = "110105190001010002"  # well-formed, nobody in the demo
    with server.client(district.tokens["street_office"]) as api:
        outside = api.post("/v1/residents/search",
                           json={"id_number": district.other.raw_id, "purpose": PURPOSE})
        missing = api.post("/v1/residents/search",
                           json={"id_number": unknown_id, "purpose": PURPOSE})
        outside_key = api.get(f"/v1/residents/{district.other.key}", params={"purpose": PURPOSE})
        missing_key = api.get(f"/v1/residents/{'0' * 32}", params={"purpose": PURPOSE})
    assert outside.status_code == missing.status_code == 404
    assert outside.content == missing.content
    assert outside.headers["content-type"] == missing.headers["content-type"]
    assert outside_key.status_code == missing_key.status_code == 404
    assert outside_key.content == missing_key.content
    with server.client(district.tokens["admin"]) as admin:  # the resident does exist
        assert admin.get(f"/v1/residents/{district.other.key}",
                         params={"purpose": "audit_check"}).status_code == 200


def test_purpose_is_required_and_checked(server: Server, district: District) -> None:
    with server.client(district.tokens["street_office"]) as api:
        no_purpose = api.post("/v1/residents/search", json={"id_number": district.mine.raw_id})
        bad_purpose = api.get(f"/v1/residents/{district.mine.key}",
                              params={"purpose": "curiosity"})
        no_grid_purpose = api.get(f"/v1/grids/{district.mine.grid_code}/residents")
    for response in (no_purpose, bad_purpose, no_grid_purpose):
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/problem+json")
    assert "curiosity" not in bad_purpose.text


def test_deny_by_default(server: Server, district: District) -> None:
    with server.client(None) as anonymous:
        assert anonymous.get("/v1/catalog/datasets").status_code == 401
        assert anonymous.post("/v1/residents/search", json={
            "id_number": district.mine.raw_id, "purpose": PURPOSE}).status_code == 401
    with server.client(district.tokens["auditor"]) as auditor:
        assert auditor.post("/v1/residents/search", json={
            "id_number": district.mine.raw_id, "purpose": PURPOSE}).status_code == 403
        assert auditor.get("/v1/catalog/datasets").status_code == 200
    with server.client(district.tokens["department"]) as department:
        assert department.get("/v1/audit/events").status_code == 403
        assert department.post("/v1/datasets/medical/uploads",
                               files={"file": ("m.csv", b"a,b\n1,2\n")}).status_code == 403


def test_invalid_requests_do_not_echo_input(server: Server, district: District) -> None:
    secret = district.mine.raw_id
    with server.client(district.tokens["street_office"]) as api:
        responses = [
            api.post("/v1/residents/search", json={"id_number": secret * 3, "purpose": PURPOSE}),
            api.post("/v1/residents/search", json={"id_number": secret, "purpose": PURPOSE,
                                                   "extra": secret}),
            api.post("/v1/residents/search", content=b'{"id_number": "' + secret.encode()),
            api.get(f"/v1/residents/{secret}", params={"purpose": PURPOSE}),
            api.get(f"/v1/grids/{secret}/residents", params={"purpose": PURPOSE}),
            api.get(f"/v1/grids/{district.mine.grid_code}/residents",
                    params={"purpose": PURPOSE, "limit": secret}),
        ]
    for response in responses:
        assert response.status_code in (400, 404, 422), response.status_code
        assert response.headers["content-type"].startswith("application/problem+json")
        assert secret not in response.text
        assert secret[:12] not in response.text


def test_department_uploads_and_reads_its_rejection_report(
        server: Server, district: District, tmp_path: Path) -> None:
    extract = Path(district.demo.datasets["elderly_care"].path)
    # A new extract: the demo one with its last rows dropped (the same bytes would be
    # reported as already ingested), planted defects kept.
    lines = extract.read_bytes().splitlines(keepends=True)
    upload = tmp_path / "elderly_care_upload.csv"
    upload.write_bytes(b"".join(lines[:-5]))
    with server.client(district.tokens["department"]) as api:
        with upload.open("rb") as handle:
            accepted = api.post("/v1/datasets/elderly_care/uploads",
                                files={"file": (upload.name, handle, "text/csv")})
        assert accepted.status_code == 202, accepted.text
        upload_id = accepted.json()["upload_id"]
        deadline = time.monotonic() + 90
        status = api.get(f"/v1/uploads/{upload_id}").json()
        while status["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            status = api.get(f"/v1/uploads/{upload_id}").json()
        by_batch = api.get(f"/v1/uploads/{status['batch_id']}")
        error_csv = api.get(f"/v1/uploads/{upload_id}/errors.csv")
        error_xlsx = api.get(f"/v1/uploads/{upload_id}/errors.xlsx")
    assert status["status"] == "done", status
    assert status["outcome"] == "loaded"
    assert status["rows_read"] == len(lines) - 6
    assert status["rows_quarantined"] > 0
    errors = [r for r in status["rejections"] if r["severity"] == "error"]
    assert len({r["source_row"] for r in errors}) == status["rows_quarantined"]
    assert all(set(r) == {"source_row", "column", "rule", "severity"} for r in errors)
    assert by_batch.json()["upload_id"] == upload_id
    _assert_clerk_error_file(error_csv, error_xlsx, status, lines)
    assert not list(district.settings.inbox_dir.iterdir())  # raw identifiers left the disk
    with server.client(district.tokens["street_office"]) as other:  # not its batch
        assert other.get(f"/v1/uploads/{upload_id}").status_code == 404


def _assert_clerk_error_file(error_csv: httpx.Response, error_xlsx: httpx.Response,
                             status: dict[str, Any], lines: list[bytes]) -> None:
    """Every row issue, with the department's own header, an explanation and a fix; no value."""
    assert error_csv.status_code == 200
    assert error_xlsx.status_code == 200
    rows = list(csv.reader(io.StringIO(error_csv.content.decode("utf-8-sig"))))
    assert rows[0] == ["源文件行号", "列（本部门表头）", "级别", "规则", "说明", "如何在源头修改"]
    assert len(rows) - 1 == status["rejections_total"]
    headers = [*lines[0].decode("gbk").strip().split(","), "（整行）"]
    assert {r[1] for r in rows[1:]} <= set(headers)
    assert all(r[4] and r[5] for r in rows[1:])
    book = openpyxl.load_workbook(io.BytesIO(error_xlsx.content), read_only=True)
    assert sum(1 for _ in book["问题行"].iter_rows()) == len(rows)
    text = error_csv.content.decode("utf-8-sig")
    for line in lines[1:]:
        for cell in line.decode("gbk").strip().split(","):
            if len(cell) >= 6 and not cell.isascii():
                assert cell not in text  # names, addresses: never echoed
            if len(cell) >= 15 and cell[:6].isdigit():
                assert cell not in text  # ID numbers
    print("\nclerk's error file (first lines):\n" + "\n".join(
        ",".join(r) for r in rows[:12]))


def test_oversized_and_malformed_uploads_are_refused(server: Server, district: District
                                                     ) -> None:
    with server.client(district.tokens["department"]) as api:
        not_multipart = api.post("/v1/datasets/elderly_care/uploads", content=b"x,y\n")
        no_file = api.post("/v1/datasets/elderly_care/uploads", data={"source": "x"},
                           files={"other": ("a.txt", b"")})
        wrong_source = api.post("/v1/datasets/elderly_care/uploads", data={"source": "nope"},
                                files={"file": ("a.csv", b"a\n1\n")})
    assert not_multipart.status_code == 400
    assert no_file.status_code == 400
    assert wrong_source.status_code == 400
    assert not list(district.settings.inbox_dir.iterdir())


def test_auditor_sees_the_look_ups_including_the_refused_one(
        server: Server, district: District) -> None:
    with server.client(district.tokens["street_office"]) as api:
        granted = api.post("/v1/residents/search",
                           json={"id_number": district.mine.raw_id, "purpose": PURPOSE})
        refused = api.get(f"/v1/residents/{district.other.key}",
                          params={"purpose": "case_management"})
    assert (granted.status_code, refused.status_code) == (200, 404)
    with server.client(district.tokens["auditor"]) as auditor:
        events = auditor.get("/v1/audit/events", params={"limit": 1000}).json()["events"]
        only_refused = auditor.get("/v1/audit/events", params={"outcome": "refused"}).json()
    by_request = {e["request_id"]: e for e in events}
    ok = by_request[granted.headers["x-request-id"]]
    assert (ok["outcome"], ok["resident_key"], ok["purpose"], ok["role"]) == (
        "granted", district.mine.key, PURPOSE, "street_office")
    no = by_request[refused.headers["x-request-id"]]
    assert (no["outcome"], no["resident_key"], no["purpose"]) == (
        "refused:forbidden", district.other.key, "case_management")
    assert no["request_id"] in {e["request_id"] for e in only_refused["events"]}
    # Earlier tests' refusals are there too: missing purpose and no token.
    outcomes = {e["outcome"] for e in events}
    assert {"refused:purpose_required", "refused:unauthenticated", "refused:role",
            "not_found"} <= outcomes


def test_catalog_and_health(server: Server, district: District) -> None:
    with server.client(district.tokens["department"]) as api:
        datasets = api.get("/v1/catalog/datasets").json()["datasets"]
        openapi = api.get("/openapi.json").json()
    assert {"grid", "elderly_care", "medical", "employment"} <= {d["name"] for d in datasets}
    assert "/v1/residents/search" in openapi["paths"]
    with server.client(None) as anonymous:
        assert anonymous.get("/healthz").json()["status"] == "ok"


def test_quality_for_auditors_and_the_owning_department(server: Server,
                                                       district: District) -> None:
    with server.client(district.tokens["auditor"]) as api:
        datasets = {d["name"]: d for d in api.get("/v1/catalog/datasets").json()["datasets"]}
        grid_batch = datasets["grid"]["latest_batch"]
        result = api.get(f"/v1/quality/batches/{grid_batch}")
        report = api.get(f"/v1/quality/batches/{grid_batch}/report")
        employment = api.get("/v1/quality/datasets/employment").json()
        findings = api.get("/v1/quality/findings")
    assert result.status_code == 200
    body = result.json()
    assert body["dataset"] == "grid"
    assert body["expectations"]
    quarantined = {q["rule"]: q["rows"] for q in body["quarantine"] if q["severity"] == "error"}
    planted = district.demo.datasets["grid"].defects
    assert quarantined["resident_id:check_character"] == planted["bad_check_char"]["rows"]
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    assert "http://" not in report.text
    assert "https://" not in report.text
    assert employment["freshness"]["status"] == "overdue"
    assert findings.status_code == 200
    with server.client(district.tokens["department"]) as api:  # elderly_care only
        assert api.get(f"/v1/quality/batches/{grid_batch}").status_code == 404
        own = datasets["elderly_care"]["latest_batch"]
        assert api.get(f"/v1/quality/batches/{own}").status_code == 200
    with server.client(district.tokens["street_office"]) as api:
        assert api.get("/v1/quality/findings").status_code == 403


def test_no_raw_identifier_in_any_response_or_log_line(server: Server, district: District
                                                       ) -> None:
    assert len(server.bodies) > 30
    blob = b"\n".join(server.bodies) + b"\n" + server.log_text().encode()
    needles = district.needles
    found_ids = {m.decode().upper() for m in ID_PATTERN.findall(blob)}
    assert not found_ids & {i.upper() for i in needles["id"]}
    found_phones = {m.decode() for m in PHONE_PATTERN.findall(blob)}
    assert not found_phones & needles["phone"]
    text = blob.decode("utf-8", errors="replace")
    assert not [n for n in needles["name"] if n in text]
    assert "pipeline worker ready" in server.log_text()  # the log was really captured
