"""Hostile parameters and echoes, re-run against the real server: no 500 on out-of-range
numbers or moments, no error answer that repeats what the caller sent (path, query, body,
headers, upload file name), no server path in any answer, and a department's view of
cross-department findings without the other department's classification."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest

from tests.api.conftest import District, Server

# One marker that satisfies the lower-case patterns (so it reaches the handlers) and one
# that does not (so it exercises validation).
MARKERS = ("zqxmarker7731", "ZQX<m\"ark>'7731")
ROLES = (None, "street_office", "department", "auditor", "admin")
HUGE = "9223372036854775808"


def _openapi(server: Server) -> dict[str, Any]:
    return httpx.get(f"{server.base_url}/openapi.json", timeout=30).json()


def _answer_text(response: httpx.Response) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return (headers + "\n" + response.text).lower()


def _assert_silent(response: httpx.Response, district: District, what: str) -> None:
    """No error answer repeats the marker (a 200 of the audit log shows what was recorded:
    that is its data); no answer shows the home folder or is a server error."""
    text = _answer_text(response)
    if response.status_code >= 400:
        assert "zqx" not in text, (what, response.status_code, response.text[:300])
    assert str(district.settings.home).lower() not in text, (what, response.text[:300])
    assert response.status_code < 500, (what, response.status_code, response.text[:300])


def _requests(document: dict[str, Any], marker: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation with the marker in each path parameter, each query parameter and,
    for bodies, every field plus an unknown field named by it."""
    out = []
    for template, item in document["paths"].items():
        for method, operation in item.items():
            params = operation.get("parameters", [])
            path_names = [p["name"] for p in params if p["in"] == "path"]
            queries = [p["name"] for p in params if p["in"] == "query"]
            path = template
            for name in path_names:
                path = path.replace("{" + name + "}", marker)
            out.append((method, path, {}))
            good_path = template
            for name in path_names:  # valid-looking values, marker in the query instead
                good_path = good_path.replace("{" + name + "}", "0" * 32 if "key" in name
                                              else "elderly_care")
            for name in queries:
                out.append((method, good_path, {"params": {name: marker}}))
            if method == "post":
                body = {"id_number": marker, "purpose": marker, "case_reference": marker,
                        "dataset": marker, "recipient": marker, "format": marker, marker: 1}
                out.append((method, good_path, {"content": json.dumps(body),
                                                "headers": {"Content-Type":
                                                            "application/json"}}))
                out.append((method, good_path, {"content": marker.encode(), "headers": {
                    "Content-Type": "application/json"}}))
    return out


@pytest.mark.parametrize("marker", MARKERS)
def test_no_answer_echoes_what_was_sent(server: Server, district: District,
                                        marker: str) -> None:
    document = _openapi(server)
    requests = _requests(document, marker)
    assert len(requests) > 40
    for role in ROLES:
        with server.client(district.tokens[role] if role else None) as client:
            for method, path, options in requests:
                response = client.request(method.upper(), path, **options)
                _assert_silent(response, district, f"{role} {method} {path} {options}")


def test_headers_are_not_echoed(server: Server, district: District) -> None:
    marker = MARKERS[0]
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for headers in ({"Authorization": f"Bearer {marker}"},
                        {"Authorization": f"Bearer Bearer {marker}"},
                        {"Authorization": marker},
                        {"Authorization": f"Bearer {district.tokens['admin']}",
                         "X-Request-ID": marker, "Content-Type": marker,
                         "Accept": marker}):
            for path in ("/v1/catalog/datasets", "/v1/audit/events",
                         f"/v1/residents/{'0' * 32}?purpose=audit_check"):
                _assert_silent(client.get(path, headers=headers), district, f"{path} {headers}")
            response = client.post("/v1/residents/search", headers=headers,
                                   content=b'{"id_number": "x"}')
            _assert_silent(response, district, f"search {headers}")


def test_upload_errors_echo_nothing_and_show_no_path(server: Server,
                                                     district: District) -> None:
    marker = MARKERS[0]
    with server.client(district.tokens["department"]) as client:
        too_long = {"file": (f"{marker}.csv", b"a,b\n1,2\n", "text/csv"),
                    marker: (None, "x" * 5000)}
        for files in (too_long,
                      {"file": (f"{marker}.csv", b"a,b\n", "text/csv"), "source": (None, marker)},
                      {marker: (None, "x")}):
            _assert_silent(client.post("/v1/datasets/elderly_care/uploads", files=files),
                           district, f"upload {list(files)}")
        # A file the worker cannot read: its reason names the rule, not the inbox path.
        accepted = client.post("/v1/datasets/elderly_care/uploads", files={
            "file": (f"{marker}.csv", b"\x00\x01\x02" * 4000, "text/csv")})
        assert accepted.status_code == 202, accepted.text
        _assert_silent(accepted, district, "accepted upload")
        status_url = accepted.json()["status_url"]
        deadline = time.monotonic() + 120
        while True:
            status = client.get(status_url)
            if status.json()["status"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        body = status.json()
        assert body["status"] in ("done", "failed"), body
        assert body["reason"], body
        assert not re.search(r"(^|[\s'\"])/[\w.-]+/", body["reason"]), body["reason"]
        _assert_silent(status, district, "upload status")


@pytest.mark.parametrize("path", [
    "/v1/uploads/up-000000000000000000000000?offset=" + HUGE,
    "/v1/audit/events?offset=" + HUGE,
    "/v1/audit/events?limit=" + HUGE,
    "/v1/quality/findings?offset=" + HUGE,
    f"/v1/grids/110105001001001/residents?purpose=audit_check&offset={HUGE}",
    "/v1/audit/events?since=0001-01-01T00:00:00%2B01:00",
    "/v1/audit/events?until=9999-12-31T23:59:59-01:00",
    "/v1/audit/checkpoints?since=0001-01-01T00:00:00%2B05:00",
])
def test_hostile_numbers_and_moments_are_422(server: Server, district: District,
                                             path: str) -> None:
    with server.client(district.tokens["admin"]) as client:
        response = client.get(path)
    assert response.status_code in (400, 422), (path, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")


def test_department_sees_its_own_side_of_cross_department_findings(
        server: Server, district: District) -> None:
    with server.client(district.tokens["auditor"]) as client:
        everything = client.get("/v1/quality/findings", params={"limit": 500}).json()
    cross = [f for f in everything["items"]
             if "elderly_care" in f["datasets"] and len(f["datasets"]) > 1]
    assert cross, "the demo district has no cross-department finding about elderly_care"
    assert any("grid" in f["datasets"] for f in cross)
    with server.client(district.tokens["department"]) as client:
        mine = client.get("/v1/quality/findings", params={"limit": 500}).json()
    assert mine["total"] >= len(cross)
    by_id = {f["finding_id"]: f for f in mine["items"]}
    for finding in cross:
        seen = by_id[finding["finding_id"]]
        assert seen["datasets"] == ["elderly_care"]
        assert seen["other_sources"] == len(finding["datasets"]) - 1
        assert seen["resident_key"] == finding["resident_key"]
        text = json.dumps(seen, ensure_ascii=False)
        for hidden in ("grid", "special_groups", "elderly_living_alone", "date_of_death",
                       "departments"):
            assert hidden not in text, (hidden, text)
        assert seen["columns"][0].startswith("elderly_care.")
