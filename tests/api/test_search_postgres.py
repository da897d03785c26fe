"""Resident search with the state store on PostgreSQL: the lane and the route read, decide
and audit off the event loop (hub.api.lookup.ResidentDocuments.off_loop, hub.audit.group),
with the same answers as on SQLite, and concurrent searches leave one valid chain with one
record each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path

import httpx
import pytest

from catalog.db import create_state_engine
from hub.api.app import create_app
from hub.audit.log import AuditLog
from hub.keys.config import load_security_keys
from hub.pipeline.worker import PipelineWorker
from hub.security.tokens import TokenStore
from tests.api.conftest import District
from tests.conftest import DemoDistrict
from tests.event_loop import run

pytestmark = pytest.mark.slow
PURPOSE = "assistance_review"


def test_searches_on_postgresql_answer_and_are_audited(
        demo_district: DemoDistrict, district: District, postgres_url: str,
        tmp_path: Path) -> None:
    settings = demo_district.copy_home(tmp_path / "home", quality_checks=False,
                                       state_url=postgres_url)
    with PipelineWorker(settings) as worker:
        worker.publish()
    engine = create_state_engine(postgres_url)
    store = TokenStore(engine, load_security_keys(settings).token_pepper)
    office = store.create("street_office", [district.street], "street-pg")[1]
    admin = store.create("admin", [], "admin-pg")[1]
    mine, other = district.mine, district.other
    app = create_app(settings)

    async def searches() -> list[httpx.Response]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as api:
                def search(token: str, raw_id: str, query: str = ""
                           ) -> Awaitable[httpx.Response]:
                    return api.post(f"/v1/residents/search{query}",
                                    headers={"Authorization": f"Bearer {token}"},
                                    json={"id_number": raw_id, "purpose": PURPOSE})

                together = [search(office, mine.raw_id) for _ in range(12)]
                together += [search(office, other.raw_id), search(admin, other.raw_id),
                             search(office, mine.raw_id, "?via=route"),
                             search(office, "11010519491231002X")]
                return list(await asyncio.gather(*together))

    answers = run(searches())
    assert [a.status_code for a in answers] == [200] * 12 + [404, 200, 200, 404]
    assert len({a.content for a in answers[:12]}) == 1
    assert mine.key in answers[0].text
    assert answers[14].content == answers[0].content  # the route answers as the lane
    assert answers[12].content == answers[15].content  # outside: as a resident unknown
    assert other.key in answers[13].text
    audit = AuditLog(engine)
    events = audit.search(limit=100)
    assert len(events) == len(answers)
    outcomes = sorted(e["outcome"] for e in events)
    assert outcomes == sorted(["granted"] * 14 + ["refused:forbidden", "not_found"])
    assert audit.verify().ok
    engine.dispose()
