"""The loops in the console, in a real browser with JavaScript off: a department acknowledges
a correction request from its inbox; a sharing request applied for by one department and
approved with fewer columns by the owner; a case opened from the hint on a resident card,
answered by the department it was referred to and closed. Screenshots go to docs/console/."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.browser_kit import submit
from tests.casework.conftest import PASSWORD, Loop

pytestmark = pytest.mark.slow


@pytest.fixture
def open_page(browser: Browser, loop: Loop) -> Iterator[object]:
    contexts = []

    def signed_in_as(name: str) -> Page:
        context = browser.new_context(base_url=loop.server.base_url, locale="zh-CN",
                                      java_script_enabled=False)
        contexts.append(context)
        page = context.new_page()
        page.goto("/console/login")
        page.get_by_label("用户名").fill(name)
        page.get_by_label("密码").fill(PASSWORD)
        submit(page, page.get_by_role("button", name="登录"))
        return page

    yield signed_in_as
    for context in contexts:
        context.close()


def test_the_three_loops_in_the_console(open_page: object, loop: Loop,
                                        screenshot: Callable[[Page, str], None]) -> None:
    sign_in = open_page  # type: ignore[assignment]
    with loop.server.client(loop.tokens["street_office"]) as street_api:
        reported = street_api.post("/v1/corrections", json={
            "origin": "report", "dataset": "elderly_care", "column": "care_level",
            "rule": "care_level:out_of_date"}).json()

    civil: Page = sign_in("loop-civil")  # type: ignore[operator]
    civil.goto("/console/inbox")
    submit(civil, civil.get_by_role("link", name=reported["request_id"]))
    submit(civil, civil.get_by_role("button", name="确认接收"))
    assert civil.locator("#status").inner_text().startswith("已确认")
    screenshot(civil, "loop-correction.png")
    admin: Page = sign_in("loop-admin")  # type: ignore[operator]
    admin.goto("/console/corrections")
    assert "民政局" in admin.locator("#correction-summary").inner_text()

    labour: Page = sign_in("loop-labour")  # type: ignore[operator]
    labour.goto("/console/sharing?dataset=elderly_care")
    apply = labour.locator("#apply")
    apply.get_by_label("care_level").check()
    apply.get_by_label("living_alone").check()
    assert apply.get_by_label("name").count() == 0  # not_shared columns are not offered
    apply.get_by_label("查询目的").select_option("assistance_review")
    labour.get_by_label("条款或文件").fill("社会救助暂行办法 第十条")
    submit(labour, labour.get_by_role("button", name="提交申请"))
    request_url = labour.url
    assert labour.locator("#status").inner_text() == "待答复"

    civil.goto(request_url)
    civil.locator("#approve").get_by_label("living_alone").uncheck()
    submit(civil, civil.get_by_role("button", name="同意"))
    assert civil.locator("#status").inner_text() == "已同意"
    assert civil.locator("#granted").inner_text().startswith("care_level ·")
    screenshot(civil, "loop-sharing.png")

    street: Page = sign_in("loop-street")  # type: ignore[operator]
    street.goto(f"/console/residents/{loop.hinted}?purpose=case_management")
    submit(street, street.get_by_role("button", name="开案并转介").first)
    assert street.locator("#status").inner_text() == "已转介"
    assert "民政局" in street.locator("#referrals").inner_text()
    street.get_by_label("添加记录（请勿填写身份证号、姓名或电话）").fill("电话联系家属，约定入户")
    submit(street, street.get_by_role("button", name="添加记录"))
    screenshot(street, "loop-case.png")
    referral = street.locator("#referrals tbody td").first.inner_text()

    civil.goto("/console/cases")
    submit(civil, civil.get_by_role("link", name=referral))
    civil.get_by_label("回复").select_option("granted")
    submit(civil, civil.get_by_role("button", name="提交回复"))
    assert civil.locator("#status").inner_text().startswith("已办结")

    street.reload()
    street.locator("#close").get_by_label("评价").select_option("need_met")
    submit(street, street.get_by_role("button", name="结案"))
    assert street.locator("#status").inner_text() == "已结案"
    assert "满意度 5/5" in street.locator("#evaluation").inner_text()
    assert "已办理" in street.locator("#referrals").inner_text()
