"""`hub corrections|requests|referrals list|show` and `hub digest send`: the loops from the
command line, in Chinese (category labels from hub/casework/vocabulary.yaml).

The commands read the state store as an auditor would (every item, no case notes) and write
nothing but the digest's escalations. Unknown ids exit 2 (ItemNotFound), an SMTP failure 4.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hub.audit.log import AuditLog
from hub.casework.service import Casework
from hub.casework.vocabulary import term
from hub.cli.terminal import exit_on_error, settings_or_exit
from hub.security.roles import Principal, Role
from hub.state.migrate import open_state_store

console = Console(stderr=True)
# Piped output (cron, a log) gets a wide table instead of 80 wrapped columns.
out = Console(width=None if sys.stdout.isatty() else 160)
corrections_app = typer.Typer(no_args_is_help=True, help="数据更正请求 correction requests")
requests_app = typer.Typer(no_args_is_help=True, help="条件共享申请 sharing requests")
referrals_app = typer.Typer(no_args_is_help=True, help="个案与转介 cases and referrals")
digest_app = typer.Typer(no_args_is_help=True, help="待办日报 the daily digest")

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
StatusOption = Annotated[str | None, typer.Option("--status", help="e.g. open, overdue")]


def _reader() -> Principal:
    return Principal(token_id="cli", name=getpass.getuser(), role=Role.AUDITOR, scope=())


@contextmanager
def _casework() -> Iterator[Casework]:
    settings = settings_or_exit(console)
    with exit_on_error(console):
        engine = open_state_store(settings.resolved_state_url)
        try:
            yield Casework.open(engine, AuditLog(engine), settings.casework)
        finally:
            engine.dispose()


def _due(item: dict[str, Any]) -> str:
    clock = item["clock"]
    if clock["overdue"]:
        return f"[red]{clock['due_date']} 已逾期[/]"
    if clock["running"]:
        return f"{clock['due_date']}（剩 {clock['working_days_left']} 个工作日）"
    return clock["due_date"]


def _print_list(items: list[dict[str, Any]], as_json: bool, title: str,
                columns: list[tuple[str, Callable[[dict[str, Any]], str]]]) -> None:
    if as_json:
        out.print_json(json.dumps(items, ensure_ascii=False, default=str))
        return
    table = Table(*[name for name, _ in columns], title=f"{title}（{len(items)}）")
    for item in items:
        table.add_row(*[get(item) for _, get in columns])
    out.print(table)


def _print_item(item: dict[str, Any], as_json: bool, fields: list[tuple[str, str, str]]
                ) -> None:
    if as_json:
        out.print_json(json.dumps(item, ensure_ascii=False, default=str))
        return
    table = Table("项目", "内容", show_header=False)
    for label, key, group in fields:
        value = item.get(key)
        if value is None:
            table.add_row(label, "")
            continue
        shown = ", ".join(term(group, v) for v in value) if isinstance(value, list) and group \
            else term(group, value) if group else ("" if value is None else str(value))
        table.add_row(label, shown)
    table.add_row("截止", _due(item))
    out.print(table)
    for event in item.get("history", []):
        out.print(f"  {event['at'][:16]}  {event['action']}  {event['actor']}", markup=False)


@corrections_app.command("list")
def corrections_list(status: StatusOption = None, as_json: JsonFlag = False) -> None:
    with _casework() as work:
        items = work.corrections.listing(_reader(), date.today(), status)
    _print_list(items, as_json, "数据更正请求", [
        ("编号", lambda i: i["request_id"]), ("数据集", lambda i: i["dataset"]),
        ("字段", lambda i: i["column_name"] or ""), ("规则", lambda i: i["rule"]),
        ("来源", lambda i: term("origins", i["origin"])),
        ("状态", lambda i: term("statuses", i["status"])), ("截止", _due)])


@corrections_app.command("show")
def corrections_show(request_id: str, as_json: JsonFlag = False) -> None:
    with _casework() as work:
        item = work.corrections.get(_reader(), request_id, date.today())
    _print_item(item, as_json, [
        ("编号", "request_id", ""), ("来源", "origin", "origins"), ("数据集", "dataset", ""),
        ("责任部门", "department", ""), ("字段", "column_name", ""), ("规则", "rule", ""),
        ("居民编码", "resident_key", ""), ("状态", "status", "statuses"),
        ("异议理由", "dispute_reason", "dispute_reasons"), ("更正批次", "corrected_batch", ""),
        ("核验时间", "verified_at", "")])


@requests_app.command("list")
def requests_list(status: StatusOption = None, as_json: JsonFlag = False) -> None:
    with _casework() as work:
        items = work.sharing.listing(_reader(), date.today(), status)
    _print_list(items, as_json, "条件共享申请", [
        ("编号", lambda i: i["request_id"]), ("数据集", lambda i: i["dataset"]),
        ("申请字段", lambda i: ", ".join(i["columns"])),
        ("批准字段", lambda i: ", ".join(i["granted_columns"] or [])),
        ("申请方", lambda i: i["requester_party"]),
        ("状态", lambda i: term("statuses", i["status"])), ("截止", _due)])


@requests_app.command("show")
def requests_show(request_id: str, as_json: JsonFlag = False) -> None:
    with _casework() as work:
        item = work.sharing.get(_reader(), request_id, date.today())
    _print_item(item, as_json, [
        ("编号", "request_id", ""), ("数据集", "dataset", ""), ("申请字段", "columns", ""),
        ("用途", "purpose", ""), ("依据", "legal_basis", "legal_bases"),
        ("依据条款", "legal_reference", ""), ("期限", "period_end", ""),
        ("申请方", "requester_party", ""), ("状态", "status", "statuses"),
        ("批准字段", "granted_columns", ""), ("授权至", "granted_until", ""),
        ("拒绝理由", "refusal_reason", "refusal_reasons")])


@referrals_app.command("list")
def referrals_list(status: StatusOption = None, as_json: JsonFlag = False) -> None:
    with _casework() as work:
        items = work.cases.listing(_reader(), date.today(), status)
    _print_list(items, as_json, "个案", [
        ("编号", lambda i: i["case_id"]), ("街道", lambda i: i["street_code"]),
        ("来源", lambda i: term("origins", i["origin"])),
        ("评估", lambda i: "、".join(term("assessment", a) for a in i["assessment"])),
        ("状态", lambda i: term("statuses", i["status"])), ("截止", _due)])


@referrals_app.command("show")
def referrals_show(case_id: str, as_json: JsonFlag = False) -> None:
    with _casework() as work:
        item = work.cases.get(_reader(), case_id, date.today())
    _print_item(item, as_json, [
        ("编号", "case_id", ""), ("居民编码", "resident_key", ""), ("街道", "street_code", ""),
        ("来源", "origin", "origins"), ("提示规则", "hint_rule", ""),
        ("评估", "assessment", "assessment"), ("状态", "status", "statuses"),
        ("结案评价", "evaluation", "evaluations"), ("满意度", "satisfaction", "")])
    if not as_json:
        for r in item["referrals"]:
            out.print(f"  转介 {r['referral_id']} → {r['to_code']} · "
                      f"{term('services', r['service'])} · {term('statuses', r['status'])} · "
                      f"截止 {r['due_date']}", markup=False)


@digest_app.command("send")
def digest_send(
    console_url: Annotated[str, typer.Option(help="the console's address in the e-mail")] =
        "http://127.0.0.1:8000",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print, do not send")] = False,
) -> None:
    """Escalate overdue items, then send each console user's inbox by e-mail (users named in
    HUB_CASEWORK_DIGEST_RECIPIENTS; only when HUB_CASEWORK_SMTP_HOST is set). Cron-able."""
    from hub.casework.digest import build_digests, send_digests
    from hub.web.state import stores

    settings = settings_or_exit(console)
    with exit_on_error(console):
        engine = open_state_store(settings.resolved_state_url)
        try:
            users = stores(engine, settings)[0]
            people = []
            for row in users.list():
                user = users.get(row["name"])
                if user is not None:
                    people.append((user.name, user.principal))
            work = Casework.open(engine, AuditLog(engine), settings.casework)
            digests = build_digests(work, people, date.today(), settings.casework,
                                    console_url)
            if dry_run or not settings.casework.smtp_host:
                for digest in digests:
                    out.print(f"== {digest.user} <{digest.address or '-'}>: {digest.subject}",
                              markup=False)
                    out.print(digest.body, markup=False)
                if not settings.casework.smtp_host and not dry_run:
                    console.print("HUB_CASEWORK_SMTP_HOST is not set: digests printed, "
                                  "not sent")
                return
            sent = send_digests(digests, settings.casework)
        finally:
            engine.dispose()
    console.print(f"sent {len(sent)} digest(s) of {len(digests)}: {', '.join(sent) or '-'}")
