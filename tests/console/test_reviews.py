"""The linkage review page in a real browser: a department's data steward sees the queue of
their dataset, one item side by side (masked, with how each field compared) and rejects it;
the decision is in the queue and the audit log. No raw identifier on any page."""

from __future__ import annotations

import re

from playwright.sync_api import Page
from sqlalchemy import select

from hub.state.audit_table import audit_events
from hub.state.migrate import open_state_store
from hub.web.state import stores
from tests.api.conftest import District
from tests.console.conftest import PASSWORD, Recorder, sign_in, submit
from tests.console.test_street_office import search
from tests.privacy_scan import Needles, privacy_hits


def test_a_steward_rejects_a_review_in_the_console(page: Page, district: District,
                                                   recorder: Recorder) -> None:
    engine = open_state_store(district.settings.resolved_state_url)
    try:
        stores(engine, district.settings)[0].create("steward-a", "department",
                                                    ["elderly_care"], PASSWORD)
    finally:
        engine.dispose()
    sign_in(page, "steward-a", PASSWORD)
    page.goto("/console/reviews")
    assert page.get_by_role("link", name="关联待审核").count() == 1
    rows = page.locator("#queue tbody tr")
    assert rows.count() >= 1
    submit(page, rows.first.get_by_role("link", name="审核"))
    comparison = page.locator("#comparison")
    assert comparison.get_by_role("rowheader", name="姓名").count() == 1
    name_row = comparison.locator("tr", has=page.get_by_role("rowheader", name="姓名"))
    assert "*" in name_row.locator("td").first.inner_text()
    assert page.locator("#status").inner_text() == "待审核"
    review_id = page.url.rsplit("/", 1)[-1]
    submit(page, page.get_by_role("button", name="不是同一人：保留在隔离区"))
    assert page.locator("#status").inner_text() == "已否决"
    assert page.get_by_role("button", name="是同一人：关联此记录").count() == 0
    engine = open_state_store(district.settings.resolved_state_url)
    try:
        with engine.connect() as conn:
            details = conn.execute(select(audit_events.c.detail).where(
                audit_events.c.action == "linkage.review",
                audit_events.c.outcome == "rejected")).scalars().all()
    finally:
        engine.dispose()
    assert any(review_id in str(d) for d in details)
    needles = Needles.of(district.demo)
    assert all(privacy_hits(body, needles) == [] for body in recorder.bodies)


def test_the_resident_card_shows_matched_facts_and_both_totals(
        page: Page, district: District) -> None:
    from tests.api.test_linkage_api import _mistyped_resident

    raw_id, facts = _mistyped_resident(district)
    engine = open_state_store(district.settings.resolved_state_url)
    try:
        stores(engine, district.settings)[0].create("admin-linkage", "admin", [], PASSWORD)
    finally:
        engine.dispose()
    sign_in(page, "admin-linkage", PASSWORD)
    search(page, raw_id)
    matched = page.locator("td.linked-match")
    assert matched.count() == facts
    assert "按匹配关联" in matched.first.inner_text()
    assert re.search(r"匹配概率 (0\.9\d{3}|1\.0000)，\d{4}-\d\d-\d\d", matched.first.inner_text())
    assert page.locator("[id^=total-by-id-]").count() >= 1
