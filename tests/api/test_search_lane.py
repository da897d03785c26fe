"""The usual resident search is answered before FastAPI's routing (hub.api.search_lane): for
every kind of caller and input it gives the route's answer byte for byte and the route's
audit record, and the same access line. A query string the route ignores sends the same
search through the route."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.api.conftest import District
from tests.server_kit import Server

pytestmark = pytest.mark.slow
PURPOSE = "assistance_review"


def _cases(district: District) -> list[tuple[str, str | None, dict[str, str], dict[str, Any]]]:
    """(case, role or None for no token, extra headers, body)."""
    mine, other = district.mine.raw_id, district.other.raw_id
    return [
        ("found", "street_office", {}, {"id_number": mine, "purpose": PURPOSE}),
        ("found, lower-case x or spaced", "admin", {},
         {"id_number": f" {mine[:6]} {mine[6:].lower()} ", "purpose": PURPOSE}),
        ("found, labels by Accept-Language", "street_office", {"Accept-Language": "zh-CN"},
         {"id_number": mine, "purpose": PURPOSE}),
        ("outside the jurisdiction", "street_office", {}, {"id_number": other,
                                                           "purpose": PURPOSE}),
        ("not a valid number", "street_office", {}, {"id_number": mine[:17] + "Z",
                                                     "purpose": PURPOSE}),
        ("purpose missing", "street_office", {}, {"id_number": mine}),
        ("purpose not allowed", "street_office", {}, {"id_number": mine,
                                                      "purpose": "curiosity"}),
        ("no token", None, {}, {"id_number": mine, "purpose": PURPOSE}),
        ("another scheme", None, {"Authorization": "Basic YTpi"},
         {"id_number": mine, "purpose": PURPOSE}),
        ("role without resident data", "auditor", {}, {"id_number": mine,
                                                       "purpose": PURPOSE}),
        ("department without a grant", "department", {}, {"id_number": mine,
                                                          "purpose": PURPOSE}),
    ]


def _search(server: Server, district: District, role: str | None, headers: dict[str, str],
            body: dict[str, Any], via_route: bool) -> httpx.Response:
    token = district.tokens[role] if role else None
    with server.client(token) as api:
        return api.post("/v1/residents/search", json=body, headers=headers,
                        params={"via": "route"} if via_route else None)


def test_the_lane_answers_and_records_exactly_as_the_route(server: Server,
                                                          district: District) -> None:
    pairs = {}
    for case, role, headers, body in _cases(district):
        lane = _search(server, district, role, headers, body, via_route=False)
        route = _search(server, district, role, headers, body, via_route=True)
        assert (lane.status_code, lane.headers["content-type"], lane.content) == \
            (route.status_code, route.headers["content-type"], route.content), case
        assert lane.headers.get("www-authenticate") == route.headers.get("www-authenticate")
        pairs[case] = (lane.headers["x-request-id"], route.headers["x-request-id"])
    assert {c: _search(server, district, r, h, b, False).status_code
            for c, r, h, b in _cases(district)[:4]} == {
        "found": 200, "found, lower-case x or spaced": 200,
        "found, labels by Accept-Language": 200, "outside the jurisdiction": 404}
    with server.client(district.tokens["auditor"]) as auditor:
        events = auditor.get("/v1/audit/events", params={"limit": 1000}).json()["events"]
    by_request = {e["request_id"]: e for e in events}
    fields = ("actor", "role", "scope", "action", "purpose", "resident_key", "outcome",
              "detail")
    for case, (lane_id, route_id) in pairs.items():
        lane, route = by_request[lane_id], by_request[route_id]
        assert [lane[f] for f in fields] == [route[f] for f in fields], case
    # One access line per request, lane or route, with the route template and the status.
    log = server.log_text()
    for case, (lane_id, route_id) in pairs.items():
        for request_id, record in ((lane_id, by_request[lane_id]),
                                   (route_id, by_request[route_id])):
            lines = re.findall(rf"^INFO: +(.*) id={request_id}$", log, re.MULTILINE)
            status = {"granted": "200", "not_found": "404", "refused:forbidden": "404",
                      "refused:unauthenticated": "401", "refused:role": "403",
                      "refused:no_grant": "403", "refused:purpose_required": "400",
                      "refused:purpose_invalid": "400"}[record["outcome"]]
            assert len(lines) == 1, case
            assert re.fullmatch(rf"POST /v1/residents/search {status} [0-9.]+ms", lines[0]), \
                case


def test_a_malformed_search_is_recorded_under_its_caller(server: Server,
                                                         district: District) -> None:
    with server.client(district.tokens["street_office"]) as api:
        refused = api.post("/v1/residents/search",
                           json={"id_number": district.mine.raw_id, "purpose": PURPOSE,
                                 "name": "x"})
    assert refused.status_code == 422
    assert district.mine.raw_id not in refused.text
    with server.client(district.tokens["auditor"]) as auditor:
        events = auditor.get("/v1/audit/events", params={"limit": 200}).json()["events"]
    record = next(e for e in events if e["request_id"] == refused.headers["x-request-id"])
    assert (record["outcome"], record["role"], record["action"]) == (
        "refused:invalid_request", "street_office", "resident.search")
