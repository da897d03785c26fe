"""A project error raised inside a real `hub serve` comes back as its class says: status and
problem type (tests/errors walks every class; this is the server as deployed)."""

from __future__ import annotations

from catalog.errors import DatasetUnknown
from hub.api.problems import PROBLEM_BASE, PROBLEM_JSON
from tests.api.conftest import District, Server


def test_an_unknown_dataset_answers_with_its_class(server: Server, district: District) -> None:
    with server.client("auditor", district) as api:
        unknown = api.get("/v1/catalog/datasets/no_such_dataset")
    assert unknown.status_code == DatasetUnknown.status == 404
    assert unknown.headers["content-type"].startswith(PROBLEM_JSON)
    body = unknown.json()
    assert body["type"] == PROBLEM_BASE + DatasetUnknown.slug
    assert body["status"] == 404
    assert body["title"] == "DatasetUnknown"
