"""The linkage through the real server: a street office sees the mistyped-ID resident's facts
as matched with their probability and totals with and without them; the owning department's
steward decides a review (audited), and the accepted row's fact reaches the resident."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from catalog.db import create_state_engine
from hub.keys.config import load_security_keys
from hub.security.tokens import TokenStore
from hub.state.audit_table import audit_events
from tests.api.conftest import District, Server
from tests.privacy_scan import Needles, privacy_hits, valid_id

PURPOSE = "assistance_review"


def _token(district: District, role: str, scope: list[str]) -> str:
    engine = create_state_engine(district.settings.resolved_state_url)
    try:
        store = TokenStore(engine, load_security_keys(district.settings).token_pepper)
        return store.create(role, scope, f"linkage-{role}")[1]
    finally:
        engine.dispose()


def _mistyped_resident(district: District) -> tuple[str, int]:
    """(right ID number, rows) of the planted resident whose elderly-care rows all carry a
    mistyped ID: the largest group of wrong IDs sharing their first 17 characters."""
    text = Path(district.demo.datasets["elderly_care"].path).read_bytes().decode("gbk")
    ids = [r["身份证号"] for r in csv.DictReader(io.StringIO(text))]
    wrong = Counter(i[:17] for i in ids if len(i) == 18 and i[:17].isdigit()
                    and not valid_id(i))
    head, rows = wrong.most_common(1)[0]
    right = next(head + c for c in "0123456789X" if valid_id(head + c))
    return right, rows


def test_a_matched_fact_shows_its_probability(server: Server, district: District) -> None:
    raw_id, facts = _mistyped_resident(district)
    with server.client(district.tokens["admin"]) as admin:
        view = admin.post("/v1/residents/search",
                          json={"id_number": raw_id, "purpose": PURPOSE}).json()
    street = view["location"]["street_code"]
    with server.client(_token(district, "street_office", [street])) as api:
        response = api.post("/v1/residents/search",
                            json={"id_number": raw_id, "purpose": PURPOSE})
    assert response.status_code == 200, response.text
    doc = response.json()
    matched = [f for d in doc["departments"] for f in d["facts"] if f["linked_by"] == "match"]
    assert len(matched) == facts
    assert all(Decimal(f["match_probability"]) >= Decimal("0.9") for f in matched)
    assert all(f["linked_on"] for f in matched)
    with_matched = sum(t["facts"] for t in doc["totals"]["by_kind"])
    by_id = sum(t["facts_by_id"] for t in doc["totals"]["by_kind"])
    assert with_matched - by_id == facts


def test_the_steward_decides_a_review_audited(server: Server, district: District) -> None:
    steward = district.tokens["department"]  # elderly_care
    with server.client(steward) as api:
        listed = api.get("/v1/linkage/reviews")
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        assert items
        item = items[-1]
        shown = api.get(f"/v1/linkage/reviews/{item['review_id']}")
        accepted = api.post(f"/v1/linkage/reviews/{item['review_id']}/accept")
        again = api.post(f"/v1/linkage/reviews/{item['review_id']}/reject")
    assert shown.status_code == 200
    assert {c["field"] for c in shown.json()["comparison"]} >= {"name", "birth", "place"}
    assert privacy_hits(shown.content + listed.content, Needles.of(district.demo)) == []
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert again.status_code == 409
    with server.client(district.tokens["auditor"]) as auditor:
        assert auditor.get("/v1/linkage/reviews").status_code == 403
    with server.client(_token(district, "department", ["medical"])) as other:
        assert other.get(f"/v1/linkage/reviews/{item['review_id']}").status_code == 404
    engine = create_state_engine(district.settings.resolved_state_url)
    try:
        with engine.connect() as conn:
            outcomes = conn.execute(select(audit_events.c.outcome).where(
                audit_events.c.action == "linkage.review",
                audit_events.c.resident_key == item["resident_key"])).scalars().all()
    finally:
        engine.dispose()
    assert outcomes == ["accepted"]
    deadline = time.monotonic() + 120
    with server.client(steward) as api:
        while not api.get(f"/v1/linkage/reviews/{item['review_id']}").json()["applied"]:
            assert time.monotonic() < deadline, "the worker did not carry the review out"
            time.sleep(0.5)
    with server.client(district.tokens["admin"]) as admin:
        deadline = time.monotonic() + 120
        while True:
            doc = admin.get(f"/v1/residents/{item['resident_key']}",
                            params={"purpose": PURPOSE}).json()
            reviewed = [f for d in doc["departments"] for f in d["facts"]
                        if f["linked_by"] == "review"]
            if reviewed or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert len(reviewed) == 1
