"""A department clerk, an auditor and an administrator in a real Chromium against the shared
real `hub serve`, with JavaScript off.

The clerk uploads part of the civil-affairs extract with defects planted at known lines,
follows the self-refreshing progress page, reads the errors in Chinese with the rows of the
file, downloads the error file, and discards the snapshot the hub held (so the shared
district keeps its data). The auditor reads the quality overview, a dataset's trend and a
batch report, filters the audit log and sees the chain verified. The administrator creates a
user who then signs in, issues and revokes a token, and reads the keys' fingerprints. No
request leaves 127.0.0.1 and no page shows a raw ID number, name or phone.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import select

from catalog.db import create_state_engine
from hub.api.error_file import HEADER
from hub.state.tables import upload_jobs
from schemas.rule_labels import describe
from tests.api.conftest import District, Server
from tests.console.conftest import Accounts, Recorder, sign_in, submit
from tests.privacy_scan import Needles, privacy_hits

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(600)
WAIT_MS = 180_000  # an ingest on a loaded 2-core machine
# Data rows (0 = the first after the header) and the planted defect: the clerk's column, the
# bad cell, the rule it breaks.
PLANTED = {10: ("金额（元）", "十二块", "type:money"), 40: ("开始日期", "2026-13-45", "type:date"),
           75: ("服务项目", "", "missing")}


def _defective_extract(district: District, out: Path) -> dict[int, tuple[str, str]]:
    """The first 300 rows of the civil-affairs extract with the defects of PLANTED;
    returns the file line of each defect (header on line 1), its column and rule."""
    source = Path(district.demo.datasets["elderly_care"].path)
    lines = source.read_bytes().decode("gbk").splitlines(keepends=True)[:301]
    header = next(csv.reader([lines[0]]))
    planted: dict[int, tuple[str, str]] = {}
    for row, (column, value, rule) in PLANTED.items():
        line = lines[row + 1]
        ending = line[len(line.rstrip("\r\n")):]
        cells = next(csv.reader([line.rstrip("\r\n")]))
        cells[header.index(column)] = value
        text = io.StringIO()
        csv.writer(text, lineterminator=ending).writerow(cells)
        lines[row + 1] = text.getvalue()
        planted[row + 2] = (column, rule)
    out.write_bytes("".join(lines).encode("gbk"))
    return planted


def test_clerk_uploads_reads_the_rules_and_downloads_the_error_file(
        page: Page, district: District, accounts: Accounts, tmp_path: Path,
        screenshot: Callable[[Page, str], None]) -> None:
    planted = _defective_extract(district, tmp_path / "养老服务补充.csv")
    sign_in(page, accounts.clerk, accounts.password)
    assert page.url.endswith("/console/uploads")  # the clerk's first page
    page.get_by_label("数据来源").select_option("civil_affairs_elderly_care")
    page.get_by_label("文件（CSV、XLSX、JSON、JSON Lines 或 Parquet）").set_input_files(
        str(tmp_path / "养老服务补充.csv"))
    page.get_by_role("button", name="上传").click()
    page.wait_for_url(re.compile(r"/console/uploads/up-[0-9a-f]+$"))
    # The page refreshes itself (meta refresh, no script) until the worker is done.
    page.locator("#upload-outcome").wait_for(timeout=WAIT_MS)
    assert page.locator("#rows-read").inner_text() == "300"

    errors = page.locator("#errors-table").inner_text()
    for line, (column, rule) in planted.items():
        shown = page.locator("#errors-table tr", has_text=rule).filter(has_text=column)
        lines = shown.first.locator("td").nth(3).inner_text().split(", ")
        assert str(line) in lines  # the line of the clerk's own file
        assert describe(rule)[0] in errors
        assert describe(rule)[1] in errors
    text = page.content()
    assert str(district.settings.home) not in text
    assert "/inbox/" not in text
    screenshot(page, "clerk-upload-result.png")

    with page.expect_download() as waiting:
        page.locator("#error-file").click()
    book = load_workbook(io.BytesIO(Path(waiting.value.path()).read_bytes()))
    rows = list(book.active.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    found = {(r[0], r[1]): r for r in rows[1:]}
    for line, (column, rule) in planted.items():
        row = found[(line, column)]  # the line of the clerk's file, the clerk's own header
        assert (row[2], row[3]) == ("错误（该行未入库）", rule)
        assert (row[4], row[5]) == describe(rule)  # what it means, how to fix it, in Chinese

    # 300 rows as a snapshot would drop most of the source's rows: held for a decision.
    assert page.locator("#upload-outcome").inner_text().startswith("待确认")
    page.get_by_role("button", name="放弃：保留现有数据").click()
    page.locator("#decision-status", has_text="已放弃").wait_for(timeout=WAIT_MS)
    upload = page.url
    page.goto("/console/batches")
    history = page.locator("#batch-history tbody tr").first
    assert "已放弃" in history.inner_text()
    history.get_by_role("link", name="上传").click()
    page.wait_for_url(upload)


def test_auditor_reads_quality_and_filters_the_audit_log(
        page: Page, server: Server, district: District, accounts: Accounts,
        screenshot: Callable[[Page, str], None]) -> None:
    sign_in(page, accounts.clerk, accounts.password)  # a login of the clerk's to filter for
    submit(page, page.get_by_role("button", name="退出登录"))
    sign_in(page, accounts.auditor, accounts.password)
    assert page.url.endswith("/console/quality")
    assert "区数据质量总览" in page.locator("h1").inner_text()
    datasets = page.locator("#datasets-table tbody tr")
    assert datasets.count() >= 4
    screenshot(page, "auditor-overview.png")
    page.locator("#datasets-table").get_by_role("link", name="elderly_care").click()
    page.wait_for_url("**/console/quality/datasets/elderly_care")
    page.locator("#batches a").last.click()  # the demo's first batch: its report
    page.wait_for_url("**/console/quality/batches/*")
    assert page.locator("#expectations tbody tr").count() > 0

    page.goto("/console/audit")
    page.get_by_label("人员").select_option(f"user:{accounts.clerk}")
    page.get_by_label("操作").select_option("console.login")
    page.get_by_label("结果").select_option("granted")
    page.get_by_role("button", name="显示").click()
    page.wait_for_url("**/console/audit?*action=console.login*")
    shown = page.locator("#audit-events tbody tr")
    logins = server.client(district.tokens["auditor"]).get("/v1/audit/events", params={
        "actor": f"user:{accounts.clerk}", "action": "console.login", "outcome": "granted",
        "limit": 1000}).json()["events"]
    assert shown.count() == len(logins) > 0
    # Actions and outcomes read in Chinese, not as the log's codes.
    assert all("登录控制台" in t and "已准予" in t and "console.login" not in t
               for t in shown.all_inner_texts())
    options = page.get_by_label("操作").locator("option").all_inner_texts()
    assert "登录控制台" in options
    assert "console.login" not in options
    for query in ("action=no.such.action", "outcome=refused:nothing", "actor=user:nobody",
                  "since=2026-02-30", "since=2026-12-05&until=2026-12-01"):
        page.goto(f"/console/audit?{query}")
        assert "筛选条件" in page.locator("#problem").inner_text(), query

    page.goto("/console/audit/verification")
    assert "完好" in page.locator("#chain-status").inner_text()


def test_admin_creates_a_user_who_signs_in_and_manages_tokens(
        page: Page, server: Server, district: District, accounts: Accounts,
        screenshot: Callable[[Page, str], None]) -> None:
    sign_in(page, accounts.admin, accounts.password)
    page.goto("/console/admin/users")
    page.get_by_label("用户名").fill("clerk-medical")
    page.get_by_label("角色").select_option("department")
    page.get_by_label("范围（街道编码或数据集，逗号分隔）").fill("medical")
    page.get_by_label("初始密码（至少10个字符）").fill("a-new-password-2")
    page.get_by_role("button", name="创建用户").click()
    expect(page.locator("#form-done")).to_be_visible()
    assert "clerk-medical" in page.locator("#users").inner_text()
    mine = page.locator("#users tbody tr", has_text=accounts.admin)
    assert mine.get_by_role("button", name="停用").count() == 0  # never disables itself
    screenshot(page, "admin-users.png")

    page.goto("/console/admin/tokens")
    page.get_by_label("名称（显示在审计日志中）").fill("auditor-robot")
    page.get_by_label("角色").select_option("auditor")
    page.get_by_role("button", name="签发令牌").click()
    token = page.locator("#issued-token").inner_text()
    api = server.client(token)
    assert api.get("/v1/audit/events", params={"limit": 1}).status_code == 200
    token_id = token.split("_")[1]
    page.locator("#tokens tr", has_text=token_id).get_by_role("button", name="吊销").click()
    expect(page.locator("#tokens tr", has_text=token_id)).to_contain_text("已吊销")
    assert token not in page.content()  # shown once only
    # Each change to who may do what is in the audit log under the administrator's name.
    changes = server.client(district.tokens["auditor"]).get("/v1/audit/events", params={
        "actor": f"user:{accounts.admin}", "limit": 50}).json()
    done = {(e["action"], e["outcome"]) for e in changes["events"]}
    assert {("console.admin.user.create", "ok"), ("console.admin.token.create", "ok"),
            ("console.admin.token.revoke", "ok")} <= done
    assert all(token not in str(e) and "a-new-password-2" not in str(e)
               for e in changes["events"])

    page.goto("/console/admin/keys")
    assert page.locator("#keys tbody tr").count() == 4
    keys = page.content()
    for key_file in district.settings.keys_dir.iterdir():
        material = key_file.read_bytes().strip()
        assert material.decode("latin-1") not in keys
        assert material.hex() not in keys

    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/console/login")
    sign_in(page, "clerk-medical", "a-new-password-2")
    page.wait_for_url("**/console/uploads")
    assert page.url.endswith("/console/uploads")
    sources = page.locator("#source option").all_inner_texts()
    assert sources
    assert all("医疗保障" in s for s in sources)
    # Another department's upload looks like none, its error file too.
    engine = create_state_engine(district.settings.resolved_state_url)
    with engine.connect() as conn:
        theirs = conn.execute(select(upload_jobs.c.job_id).where(
            upload_jobs.c.dataset == "elderly_care")).scalars().first()
    engine.dispose()
    if theirs is None:  # the clerk's test above did not run in this process: one upload of theirs
        with server.client(district.tokens["department"]) as api:
            extract = Path(district.demo.datasets["elderly_care"].path).read_bytes()
            head = b"".join(extract.splitlines(keepends=True)[:21])
            theirs = api.post("/v1/datasets/elderly_care/uploads",
                              files={"file": ("养老服务.csv", head)}).json()["upload_id"]
    for address in (f"/console/uploads/{theirs}", f"/console/uploads/{theirs}/errors.xlsx",
                    "/console/uploads/up-000000000000000000000000"):
        page.goto(address)
        assert "没有这个上传" in page.locator("#problem").inner_text(), address


def test_no_request_left_the_hub_and_no_raw_identifier(recorder: Recorder,
                                                       needles: Needles) -> None:
    assert recorder.hosts == {"127.0.0.1"}
    hits = [h for body in recorder.bodies for h in privacy_hits(body, needles)]
    assert hits == []
