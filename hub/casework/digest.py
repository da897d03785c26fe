"""The daily digest: each person's inbox as a short Chinese e-mail (Jinja2), sent through the
configured SMTP server (hub.casework.mailer). Nothing in it identifies a resident: items are
named by their ids, categories and dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hub.casework.inbox import escalate_overdue, inbox
from hub.casework.mailer import send_mail
from hub.casework.service import Casework
from hub.casework.vocabulary import term
from hub.security.roles import Principal
from hub.settings import CaseworkSettings

TEMPLATES = Path(__file__).with_name("templates")
SUBJECT = "【数据共享平台】待办事项日报 {today}：{count} 项{overdue}"


@dataclass(frozen=True)
class Digest:
    user: str
    address: str | None
    subject: str
    body: str
    items: int


@cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      autoescape=False, keep_trailing_newline=True)
    env.globals["term"] = term
    return env


def render_digest(name: str, items: list[dict[str, Any]], today: date,
                  console_url: str) -> tuple[str, str]:
    overdue = sum(1 for i in items if i["overdue"])
    body = _environment().get_template("digest.txt").render(
        name=name, items=items, overdue=overdue, today=today.isoformat(),
        console_url=console_url.rstrip("/"))
    subject = SUBJECT.format(today=today.isoformat(), count=len(items),
                             overdue=f"（逾期 {overdue} 项）" if overdue else "")
    return subject, body


def build_digests(work: Casework, people: list[tuple[str, Principal]], today: date,
                  settings: CaseworkSettings, console_url: str) -> list[Digest]:
    """One digest per person with something waiting (overdue items escalated first)."""
    escalate_overdue(work, today)
    addresses = settings.recipients()
    out = []
    for name, principal in people:
        items = inbox(work, principal, today)
        if items:
            subject, body = render_digest(name, items, today, console_url)
            out.append(Digest(name, addresses.get(name), subject, body, len(items)))
    return out


def send_digests(digests: list[Digest], settings: CaseworkSettings) -> list[str]:
    """Send each digest that has an address; returns the users it was sent to."""
    sent = []
    for digest in digests:
        if digest.address and settings.smtp_host:
            send_mail(settings, digest.address, digest.subject, digest.body)
            sent.append(digest.user)
    return sent
