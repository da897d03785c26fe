"""Errors from a real `hub serve` are problem+json (tests/errors raises every project error
class through a real server; this is the server as deployed): an unknown dataset is a plain
not-found that does not repeat the name asked for."""

from __future__ import annotations

from hub.api.problems import PROBLEM_BASE, PROBLEM_JSON
from tests.api.conftest import District, Server


def test_an_unknown_dataset_is_not_found_and_not_echoed(server: Server,
                                                        district: District) -> None:
    with server.client(district.tokens["auditor"]) as api:
        unknown = api.get("/v1/catalog/datasets/no_such_dataset")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith(PROBLEM_JSON)
    body = unknown.json()
    assert body["type"] == PROBLEM_BASE + "not-found"
    assert body["status"] == 404
    assert "no_such_dataset" not in unknown.text
