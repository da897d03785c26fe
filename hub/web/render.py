"""Rendering a console page: the shared page environment, the user's language, value labels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import HTMLResponse

from hub.pages.environment import page_environment, stylesheet
from hub.web.audit_labels import action_label, outcome_label
from hub.web.i18n import DEFAULT_LOCALE, template_functions
from hub.web.nav import entries
from schemas.value_labels import Language, label

NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
            # Everything from the hub itself; no script on console pages at all.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                       "img-src 'self'; form-action 'self'; "
                                       "frame-ancestors 'none'; base-uri 'none'"}


def money(value: Any) -> str:
    """'41160.00' -> '41,160.00'; blank for none."""
    if value in (None, ""):
        return ""
    return f"{float(value):,.2f}"


def page(template: str, *, locale: str = DEFAULT_LOCALE, status: int = 200,
         **context: Any) -> HTMLResponse:
    language: Language = "en" if locale == "en" else "zh"

    def lab(group: str, code: object) -> str:
        return label(group, code, language)

    def action(code: str) -> str:
        return action_label(code, language)

    def outcome(code: str) -> str:
        return outcome_label(code, language)

    names: Mapping[str, str] = context.pop("places", None) or {}

    def place(code: object) -> str:
        """A street, community or grid code with its name where the place table has it."""
        text = "" if code is None else str(code)
        return f"{names[text]}（{text}）" if text in names else text

    who = context.get("who")
    context.setdefault("nav_entries", entries(who.user.role.value) if who else [])
    context.setdefault("current_path", "")
    html = page_environment().get_template(template).render(
        stylesheet=stylesheet(), lang="en" if language == "en" else "zh-CN", label=lab,
        action_label=action, outcome_label=outcome, money=money, place=place,
        locale=language, **template_functions(language), **context)
    return HTMLResponse(html, status_code=status, headers=NO_STORE)
