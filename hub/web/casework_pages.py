"""What the loops' console pages share: the stores for a request, a page with the loops'
category labels in the user's language, the refusal page, and the signed-in-with-CSRF check.

Every page calls the same store methods the API routes call (hub.casework), with the signed-in
user as the principal: the same parties, states and audit records.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from hub.api.casework_deps import casework_of
from hub.casework.service import Casework
from hub.casework.vocabulary import term
from hub.web.render import page
from hub.web.routes_auth import SignedIn, csrf_ok, signed_in
from hub.web.state import console_state
from schemas.errors import DataHubError


def work_of(request: Request) -> Casework:
    return casework_of(console_state(request).services)


def today() -> date:
    return date.today()


def loop_page(template: str, who: SignedIn, http_status: int = 200, **context: Any
              ) -> Response:
    language: Literal["zh", "en"] = "en" if who.user.locale == "en" else "zh"

    def label_of(group: str, code: object) -> str:
        return term(group, code, language)

    return page(template, locale=who.user.locale, status=http_status, who=who, term=label_of,
                **context)


def refused(who: SignedIn, exc: DataHubError) -> Response:
    """A refused step as a page: its problem type picks the sentence, nothing is echoed."""
    return loop_page("console/loop_error.html", who, http_status=int(getattr(exc, "status", 400)),
                     problem=str(getattr(exc, "slug", "")))


def form_user(request: Request, csrf: str) -> SignedIn | Response:
    """The signed-in user of a form post with a valid CSRF token, else the answer to send."""
    who = signed_in(request)
    if who is None:
        return RedirectResponse("/console/login", status_code=303)
    if not csrf_ok(request, who, csrf):
        return loop_page("console/loop_error.html", who, http_status=400,
                         problem="bad-form")
    return who


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
