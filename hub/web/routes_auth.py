"""Logging in and out, the signed-in user of a request, and the language setting.

A failed login says the same for an unknown user and a wrong password; each attempt leaves
an audit record (`console.login`), and the attempt that locks an account says so there too.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hub.api.guard import ANONYMOUS
from hub.web.accounts import LOCALES, LoginOutcome, User
from hub.web.nav import home
from hub.web.render import page
from hub.web.sessions import COOKIE, LOGIN_CSRF_COOKIE, Session, same_token
from hub.web.state import console_state

router = APIRouter(prefix="/console", include_in_schema=False)


@dataclass(frozen=True)
class SignedIn:
    user: User
    session: Session


def signed_in(request: Request) -> SignedIn | None:
    state = console_state(request)
    session = state.sessions.get(request.cookies.get(COOKIE))
    user = state.users.get(session.user_name) if session else None
    if session is None or user is None:
        return None
    return SignedIn(user, session)


def to_login() -> RedirectResponse:
    return RedirectResponse("/console/login", status_code=303)


def csrf_ok(request: Request, who: SignedIn, sent: str | None) -> bool:
    return same_token(sent, who.session.csrf_token)


def _cookie(request: Request, response: Response, name: str, value: str,
            max_age: int | None = None) -> None:
    # Secure (HTTPS only) when HUB_CONSOLE_SECURE_COOKIE is set: behind a TLS proxy.
    secure = console_state(request).services.settings.console.secure_cookie
    response.set_cookie(name, value, max_age=max_age, path="/console", httponly=True,
                        samesite="strict", secure=secure)


def _login_page(request: Request, message: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = page("console/login.html", status=status, csrf=token, message=message,
                    who=None)
    _cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get("/", include_in_schema=False)
def console_home(request: Request) -> Response:
    who = signed_in(request)
    return RedirectResponse(home(who.user.role.value) if who else "/console/login",
                            status_code=303)


@router.get("/login")
def login_form(request: Request) -> Response:
    who = signed_in(request)
    if who:
        return RedirectResponse(home(who.user.role.value), status_code=303)
    return _login_page(request)


def _audit_login(request: Request, outcome: LoginOutcome, user: User | None) -> None:
    audit = console_state(request).services.audit
    request_id = str(getattr(request.state, "request_id", ""))
    if user is not None:
        audit.append(action="console.login", outcome=str(outcome), principal=user.principal,
                     request_id=request_id)
    else:  # the typed name is caller input (could be anything): not recorded
        audit.append(action="console.login", outcome=str(outcome), actor=ANONYMOUS,
                     role=ANONYMOUS, scope="", request_id=request_id)


@router.post("/login")
def login(request: Request, name: Annotated[str, Form(max_length=200)] = "",
          password: Annotated[str, Form(max_length=400)] = "",
          csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    if not same_token(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_page(request, "form-expired", status=400)
    state = console_state(request)
    outcome, user = state.users.authenticate(name, password)
    _audit_login(request, outcome, user)
    if outcome == LoginOutcome.OK and user is not None:
        value, _session = state.sessions.create(user.name)
        response = RedirectResponse(home(user.role.value), status_code=303)
        _cookie(request, response, COOKIE, value)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
        return response
    locked = outcome in (LoginOutcome.LOCKED, LoginOutcome.LOCKED_NOW)
    return _login_page(request, "locked" if locked else "wrong", status=401)


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    who = signed_in(request)
    if who is not None and csrf_ok(request, who, csrf):
        console_state(request).sessions.end(request.cookies.get(COOKIE, ""))
    response = to_login()
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.post("/settings/language")
def set_language(request: Request, locale: Annotated[str, Form(max_length=8)] = "",
                 csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    if not csrf_ok(request, who, csrf) or locale not in LOCALES:
        return page("console/error.html", locale=who.user.locale, status=400, who=who,
                    problem="bad-form")
    console_state(request).users.set_locale(who.user.name, locale)
    return RedirectResponse(home(who.user.role.value), status_code=303)
