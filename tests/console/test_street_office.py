"""A street office in a real Chromium against a real `hub serve`: sign in, find a resident,
read the resident and household cards (Chinese labels, the API's totals), print the
household card, filter and download a grid list, and meet the same page for an unknown and
an out-of-jurisdiction resident. Every request the pages make is recorded: none may leave
127.0.0.1, and no page may show a raw ID number, name or phone."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page
from rich.console import Console

from hub.serve import demo_resident
from hub.web.demo_users import print_demo_users
from hub.web.routes_grids import AGE_ORDER
from schemas.value_labels import label
from tests.api.conftest import District, Server
from tests.console.conftest import Accounts, Recorder, sign_in, submit
from tests.privacy_scan import Needles, privacy_hits

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


def search(page: Page, id_number: str, purpose: str = "assistance_review") -> None:
    page.goto("/console/search")
    page.get_by_label("身份证号").fill(id_number)
    page.get_by_label("查询目的").select_option(purpose)
    submit(page, page.get_by_role("button", name="查询"))


def test_resident_and_household_cards(page: Page, server: Server, district: District,
                                      accounts: Accounts,
                                      screenshot: Callable[[Page, str], None]) -> None:
    sign_in(page, accounts.street, accounts.password)
    assert page.url.endswith("/console/search")
    search(page, district.mine.raw_id)
    assert district.mine.raw_id not in page.url  # a POST: the ID is never in a URL
    card = page.locator("#resident-card")
    assert "一人一档" in card.locator("h1").inner_text()
    api = server.client(district.tokens["street_office"]).post(
        "/v1/residents/search", json={"id_number": district.mine.raw_id,
                                      "purpose": "assistance_review"}).json()
    cash = next(t for t in api["totals"]["by_kind"] if t["kind"] == "cash")
    assert page.locator("#total-cash").inner_text().replace(",", "").startswith(cash["amount"])
    text = card.inner_text()
    departments = {d["department"] for d in api["departments"] if d["facts"]}
    assert len(departments) >= 2
    for chinese in {"civil_affairs": "民政局", "medical_security": "医疗保障局",
                    "human_resources": "人力资源和社会保障局",
                    "grid_management_centre": "网格化管理中心"}.items():
        if chinese[0] in departments:
            assert chinese[1] in text
    assert "现金" in text
    assert "cash" not in text
    assert api["profile"]["id_number"] == page.locator("#masked-id").inner_text()
    grid_name = page.locator("#grid-name").inner_text()  # by name, with its code
    assert grid_name.endswith(f"网格（{api['location']['grid_code']}）")
    # Audited exactly as the API's search: same action, purpose and resident key.
    events = server.client(district.tokens["auditor"]).get(
        "/v1/audit/events", params={"actor": f"user:{accounts.street}",
                                    "resident_key": district.mine.key}).json()["events"]
    assert [(e["action"], e["purpose"], e["outcome"]) for e in events] == [
        ("resident.search", "assistance_review", "granted")]
    screenshot(page, "resident-card.png")

    submit(page, page.locator("#household-link"))
    assert "一户一档" in page.locator("#household-card h1").inner_text()
    household = server.client(district.tokens["street_office"]).get(
        f"/v1/households/{district.mine.household_key}",
        params={"purpose": "assistance_review"}).json()
    rows = page.locator("#members tbody tr")
    assert rows.count() == len(household["members"])
    screenshot(page, "household-card.png")
    page.emulate_media(media="print")
    assert page.locator(".console-head").is_hidden()  # the print stylesheet applies
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf)) == 1  # one A4 sheet


def test_unknown_and_out_of_jurisdiction_look_the_same(page: Page, district: District,
                                                       accounts: Accounts) -> None:
    sign_in(page, accounts.street, accounts.password)
    search(page, district.other.raw_id)
    foreign = page.content()
    search(page, "11010519491231002X")  # valid shape, nobody in the district
    assert page.content() == foreign  # the whole page, byte for byte
    assert "未找到" in page.locator("#problem").inner_text()
    for address in (f"/console/residents/{district.other.key}",
                    f"/console/households/{district.other.household_key}",
                    "/console/residents/0123456789abcdef0123456789abcdef",
                    "/console/residents/not-a-key"):
        page.goto(f"{address}?purpose=assistance_review")
        assert page.content() == foreign, address


def _a_telling_filter(server: Server, district: District, grid: str,
                     everyone: int) -> tuple[str, str, int]:
    """(form field, value, API total) of a filter that keeps some but not all residents."""
    api = server.client(district.tokens["street_office"])
    candidates = [("overlap", "yes", {"has_overlap": "true"}),
                  ("missed", "yes", {"has_missed_benefit": "true"})]
    candidates += [("special_group", g, {"special_group": g})
                   for g in ("elderly_living_alone", "disabled", "subsistence_allowance",
                             "veteran", "extreme_poverty", "left_behind_child")]
    for field, value, query in candidates:
        total = int(api.get(f"/v1/grids/{grid}/residents", params={
            "purpose": "assistance_review", "limit": 1, **query}).json()["total"])
        if 0 < total < everyone:
            return field, value, total
    raise AssertionError("no filter of the test grid keeps some but not all residents")


def test_grid_filters_and_download(page: Page, server: Server, district: District,
                                   accounts: Accounts, needles: Needles,
                                   screenshot: Callable[[Page, str], None]) -> None:
    sign_in(page, accounts.street, accounts.password)
    grid = district.mine.grid_code
    assert grid is not None
    page.goto("/console/grids")
    page.get_by_label("网格编码（15位）").fill(grid)
    page.get_by_label("查询目的").select_option("assistance_review")
    submit(page, page.get_by_role("button", name="显示"))
    everyone = int(re.search(r"共 (\d+) 人", page.locator("#grid-total").inner_text())[1])
    bands = page.locator("#grid-rows tbody tr td:nth-child(2)").all_inner_texts()
    assert len(set(bands)) > 1
    assert bands == sorted(bands, key=AGE_ORDER.index)  # oldest first
    field, value, expected = _a_telling_filter(server, district, grid, everyone)
    page.locator(f"#{field}").select_option(value)
    submit(page, page.get_by_role("button", name="显示"))
    kept = int(re.search(r"共 (\d+) 人", page.locator("#grid-total").inner_text())[1])
    assert kept == expected  # the API's count for the same filter
    screenshot(page, "grid-list.png")
    column = {"special_group": 3, "overlap": 4, "missed": 5}[field]
    shown = page.locator(f"#grid-rows tbody tr td:nth-child({column})").all_inner_texts()
    wanted = "是" if value == "yes" else label("special_groups", value)
    assert shown
    assert all(wanted in cell for cell in shown)
    with page.expect_download() as waiting:
        page.locator("#download").click()
    data = Path(waiting.value.path()).read_bytes()
    book = load_workbook(io.BytesIO(data))
    rows = list(book.active.iter_rows(values_only=True))
    cells = "\n".join(str(c) for r in rows for c in r if c is not None).encode("utf-8")
    assert privacy_hits(cells, needles) == []  # masked fields only
    assert rows[0][0] == "姓名（已脱敏）"
    assert len(rows) - 1 == expected
    assert all(wanted in str(r[column - 1]) for r in rows[1:])
    assert ("grid.download", "granted") in _outcomes(server, district, f"user:{accounts.street}")
    page.goto(f"/console/grids?grid={grid}&purpose=assistance_review&special_group=nobody")
    assert "筛选条件" in page.locator("#problem").inner_text()
    page.goto(f"/console/grids?grid={grid}&purpose=assistance_review&overlap=maybe")
    assert "筛选条件" in page.locator("#problem").inner_text()


def _outcomes(server: Server, district: District, actor: str) -> list[tuple[str, str]]:
    events = server.client(district.tokens["auditor"]).get(
        "/v1/audit/events", params={"actor": actor, "limit": 100}).json()["events"]
    return [(e["action"], e["outcome"]) for e in events]


def test_wrong_passwords_lock_the_account(page: Page, server: Server, district: District,
                                          accounts: Accounts) -> None:
    attempts = district.settings.console.lockout_attempts
    for _ in range(attempts - 1):
        sign_in(page, "locked-a", "not the password")
        assert "用户名或密码错误" in page.locator("#login-message").inner_text()
    sign_in(page, "locked-a", "not the password")
    assert "锁定" in page.locator("#login-message").inner_text()
    sign_in(page, "locked-a", accounts.password)  # the right one no longer opens it
    assert "锁定" in page.locator("#login-message").inner_text()
    outcomes = [o for a, o in _outcomes(server, district, "user:locked-a")
                if a == "console.login"]
    assert outcomes[:2] == ["refused:locked", "refused:locked_now"]  # newest first
    assert outcomes.count("refused:wrong_password") == attempts - 1


def test_docs_are_served_locally(scripted_page: Page) -> None:
    scripted_page.goto("/docs")
    scripted_page.locator(".swagger-ui .info").wait_for()
    scripted_page.goto("/redoc")
    scripted_page.locator("redoc h1, [role=navigation]").first.wait_for(timeout=60_000)


def test_session_cookie_and_csrf(page: Page, server: Server, district: District,
                                 accounts: Accounts) -> None:
    sign_in(page, accounts.street, accounts.password)
    cookie = next(c for c in page.context.cookies() if c["name"] == "hub_console")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    # The same session without the form's token: refused, and nothing looked up.
    with httpx.Client(base_url=server.base_url, cookies={"hub_console": cookie["value"]},
                      timeout=30) as client:
        answer = client.post("/console/search", data={
            "id_number": district.mine.raw_id, "purpose": "assistance_review"})
    assert answer.status_code == 400
    assert "resident-card" not in answer.text
    # Signed out: the cookie no longer opens anything.
    page.get_by_role("button", name="退出登录").click()
    with httpx.Client(base_url=server.base_url, cookies={"hub_console": cookie["value"]},
                      timeout=30) as client:
        assert client.get("/console/search").status_code == 303


def test_english_is_a_per_user_setting(page: Page, district: District,
                                       accounts: Accounts) -> None:
    sign_in(page, accounts.admin, accounts.password)
    page.get_by_label("语言").select_option("en")
    submit(page, page.get_by_role("button", name="应用"))
    assert page.locator("html").get_attribute("lang") == "en"
    search_button = page.get_by_role("button", name="Search")
    page.get_by_label("ID number").fill(district.mine.raw_id)
    page.get_by_label("Purpose of this look-up").select_option("audit_check")
    submit(page, search_button)
    assert page.locator("#resident-card h1").inner_text().startswith("Resident record")
    assert "Cash" in page.locator("#resident-card").inner_text()
    page.get_by_label("Language").select_option("zh")
    submit(page, page.get_by_role("button", name="Apply"))
    assert page.locator("html").get_attribute("lang") == "zh-CN"


def test_the_demo_users_can_do_the_demo(page: Page, server: Server,
                                        district: District) -> None:
    suggested = demo_resident(district.settings, district.demo)  # what `hub demo` prints
    assert suggested is not None
    raw_id, street = suggested
    printed = Console(record=True, width=200)
    print_demo_users(district.settings, printed, server.base_url, street, raw_id)
    text = printed.export_text()
    assert f"{server.base_url}/console/" in text
    passwords = dict(re.findall(r"^\s+(demo-[a-z_]+)\s+(\S+)$", text, re.MULTILINE))
    assert set(passwords) == {"demo-street_office", "demo-department", "demo-auditor",
                              "demo-admin"}
    sign_in(page, "demo-street_office", passwords["demo-street_office"])
    search(page, raw_id)
    departments = page.locator("#resident-card section.department")
    with_facts = [departments.nth(i).locator("table").count()
                  for i in range(departments.count())]
    assert sum(with_facts) >= 2  # facts from at least two departments


def test_other_roles_read_no_resident(page: Page, server: Server, district: District,
                                      accounts: Accounts) -> None:
    sign_in(page, accounts.auditor, accounts.password)
    assert page.url.endswith("/console/quality")  # the auditor's own first page
    page.goto("/console/search")
    assert page.locator("#no-pages").is_visible()
    assert page.locator("#id_number").count() == 0
    # Posting the search anyway (with a valid session and token): the API's own refusal.
    cookie = next(c for c in page.context.cookies() if c["name"] == "hub_console")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    with httpx.Client(base_url=server.base_url, cookies={"hub_console": cookie["value"]},
                      timeout=30) as client:
        answer = client.post("/console/search", data={
            "id_number": district.mine.raw_id, "purpose": "audit_check", "csrf": csrf})
    assert answer.status_code == 403
    assert "您的角色无权查看居民档案" in answer.text
    assert ("resident.search", "refused:role") in _outcomes(
        server, district, f"user:{accounts.auditor}")


def test_no_request_left_the_hub_and_no_raw_identifier(recorder: Recorder,
                                                       needles: Needles) -> None:
    assert recorder.hosts == {"127.0.0.1"}
    hits = [h for body in recorder.bodies for h in privacy_hits(body, needles)]
    assert hits == []
