"""The export job flow: the API queues a release, the pipeline worker loop writes it, the
caller downloads it; roles, scopes and the audit log. In-process API (TestClient) and the
real worker loop (hub.pipeline.jobs.run_pipeline_worker) in a thread, on the shared demo home."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from catalog.db import create_state_engine
from hub.api.app import create_app
from hub.audit.log import AuditLog
from hub.cli.main import app as cli_app
from hub.keys.config import load_security_keys
from hub.pipeline.jobs import run_pipeline_worker
from hub.security.errors import ScopeInvalid
from hub.security.tokens import TokenStore
from hub.state.migrate import upgrade_state
from tests.release.conftest import Home, privacy_hits

ROLES = {"admin": [], "auditor": [], "researcher": ["grid", "assistance_ledger"],
         "department": ["grid"], "street_office": ["110105001"]}


@pytest.fixture(scope="module")
def api(home: Home) -> Iterator[tuple[TestClient, dict[str, str]]]:
    engine = create_state_engine(home.settings.resolved_state_url)
    store = TokenStore(engine, load_security_keys(home.settings).token_pepper)
    upgrade_state(store.engine)
    tokens = {role: store.create(role, scope, f"{role}-export-test")[1]
              for role, scope in ROLES.items()}
    engine.dispose()
    with TestClient(create_app(home.settings)) as client:
        yield client, tokens


def _auth(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def _run_worker(home: Home, until: Any) -> None:
    """The real worker loop in a thread until `until()` holds (or a minute passes)."""
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=run_pipeline_worker, args=(home.settings, stop),
                              kwargs={"poll_seconds": 0.05, "ready": ready}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not until() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def _export_events(home: Home) -> list[dict[str, Any]]:
    engine = create_state_engine(home.settings.resolved_state_url)
    try:
        events = AuditLog(engine).search(limit=1000)
    finally:
        engine.dispose()
    return [e for e in events if e["action"] == "export"]


def test_a_researcher_gets_a_release_through_the_worker(api: Any, home: Home) -> None:
    client, tokens = api
    before = len(_export_events(home))
    asked = client.post("/v1/exports", headers=_auth(tokens, "researcher"),
                        json={"dataset": "grid", "recipient": "study-9", "k": 5, "l": 2})
    assert asked.status_code == 202, asked.text
    export_id = asked.json()["export_id"]
    status_url = f"/v1/exports/{export_id}"
    assert asked.headers["location"] == status_url
    assert client.get(status_url, headers=_auth(tokens, "researcher")).json()["status"] \
        == "queued"
    early = client.get(f"{status_url}/file", headers=_auth(tokens, "researcher"))
    assert early.status_code == 409

    def finished() -> bool:
        state = client.get(status_url, headers=_auth(tokens, "researcher")).json()["status"]
        return state in ("done", "failed")

    _run_worker(home, finished)
    status = client.get(status_url, headers=_auth(tokens, "researcher")).json()
    assert status["status"] == "done", status["reason"]
    assert status["report"]["release"]["k_reached"] >= 5
    assert status["report"]["recipient"] == "study-9"
    extract = client.get(f"{status_url}/file", headers=_auth(tokens, "researcher"))
    assert extract.status_code == 200
    frame = pd.read_csv(io.BytesIO(extract.content), dtype=str)
    qis = [q["column"] for q in status["report"]["release"]["quasi_identifiers"]]
    assert frame.groupby(qis, dropna=False)["person_key"].nunique().min() >= 5
    report = client.get(f"{status_url}/report", headers=_auth(tokens, "researcher"))
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    for body in (asked.content, extract.content, report.content,
                 json.dumps(status).encode()):
        assert privacy_hits(body, home) == []
    # Another caller's release answers like one that does not exist; admins see it.
    assert client.get(status_url, headers=_auth(tokens, "auditor")).status_code == 404
    assert client.get(status_url, headers=_auth(tokens, "admin")).status_code == 200
    events = _export_events(home)[: len(_export_events(home)) - before]
    outcomes = sorted((e["outcome"], json.loads(e["detail"])["step"]) for e in events)
    assert outcomes == [("accepted", "request"), ("granted", "file"), ("granted", "report")]
    assert all(e["resident_key"] is None for e in events)


@pytest.mark.parametrize(("role", "body", "status", "outcome"), [
    (None, {"dataset": "grid", "recipient": "x"}, 401, "refused:unauthenticated"),
    ("department", {"dataset": "grid", "recipient": "x"}, 403, "refused:role"),
    ("street_office", {"dataset": "grid", "recipient": "x"}, 403, "refused:role"),
    ("researcher", {"dataset": "medical", "recipient": "x"}, 403, "refused:forbidden"),
    ("auditor", {"dataset": "nope", "recipient": "x"}, 404, "refused:not_found"),
    ("auditor", {"dataset": "grid", "recipient": "x", "k": 1}, 422, "refused:invalid_request"),
    ("auditor", {"dataset": "grid", "recipient": "110105194307106409 x"}, 422,
     "refused:invalid_request"),
])
def test_refusals_are_problems_and_audited(api: Any, home: Home, role: str | None,
                                           body: dict[str, Any], status: int,
                                           outcome: str) -> None:
    client, tokens = api
    before = len(_export_events(home))
    answer = client.post("/v1/exports", headers=_auth(tokens, role) if role else {}, json=body)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "110105194307106409" not in answer.text
    events = _export_events(home)
    assert len(events) == before + 1
    assert events[0]["outcome"] == outcome
    assert "110105194307106409" not in json.dumps(events[0])


def test_researcher_tokens_need_known_datasets(home: Home,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_HOME", str(home.settings.home))
    made = CliRunner().invoke(cli_app, ["token", "create", "--role", "researcher", "--name",
                                        "lab", "--scope", "grid,medical"])
    assert made.exit_code == 0, made.output
    assert made.output.strip().splitlines()[-1].startswith("hub_")
    refused = CliRunner().invoke(cli_app, ["token", "create", "--role", "researcher",
                                           "--name", "lab", "--scope", "nope"])
    assert refused.exit_code != 0
    engine = create_state_engine(home.settings.resolved_state_url)
    store = TokenStore(engine, load_security_keys(home.settings).token_pepper)
    with pytest.raises(ScopeInvalid):
        store.create("researcher", [], "lab")
    engine.dispose()
