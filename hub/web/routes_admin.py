"""Administrator pages: console users, API tokens, the catalog and the keys' status.

They do what `hub user ...`, `hub token ...`, `hub catalog` and `hub keys check` do, through
the same stores and checks. A new token is shown once, on the page that answers the form,
and never again; a password is never shown. Key status names each key, where it comes from
(a file or a variable, not the path), its permissions and fingerprint: never key material.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from catalog.detail import dataset_detail
from hub.api.redact import without_paths
from hub.errors import HubError
from hub.keys.config import check_keys
from hub.security.errors import RoleInvalid, ScopeInvalid, TokenLifetimeInvalid
from hub.security.roles import Role
from hub.security.tokens import parse_lifetime
from hub.web.errors import PasswordInvalid, UserExists, UserUnknown
from hub.web.render import page
from hub.web.routes_auth import SignedIn, csrf_ok, signed_in, to_login
from hub.web.state import console_state
from schemas.errors import DataHubError

router = APIRouter(prefix="/console/admin", include_in_schema=False)
Text = Annotated[str, Form(max_length=400)]
ROLES = [r.value for r in Role]


def _admin(request: Request) -> tuple[SignedIn | None, Response | None]:
    """The signed-in administrator, or the response for anyone else."""
    who = signed_in(request)
    if who is None:
        return None, to_login()
    if who.user.role != Role.ADMIN:
        return None, page("console/error.html", locale=who.user.locale, status=403, who=who,
                          problem="forbidden-admin")
    return who, None


def _admin_form(request: Request, csrf: str, page_of: Any
                ) -> tuple[SignedIn | None, Response | None]:
    """The administrator behind a form, or the answer for anyone else and for a form whose
    CSRF token does not match (`page_of(request, who, message, status)` draws it)."""
    who, refusal = _admin(request)
    if refusal is not None or who is None:
        return None, refusal or to_login()
    if not csrf_ok(request, who, csrf):
        return None, page_of(request, who, "bad-form", 400)
    return who, None


def _problem(exc: Exception) -> str:
    """A Chinese-first message key for a refused form (the templates hold the texts)."""
    for kind, key in ((UserExists, "user-exists"), (UserUnknown, "user-unknown"),
                      (PasswordInvalid, "password-invalid"), (ScopeInvalid, "scope-invalid"),
                      (RoleInvalid, "role-invalid"),
                      (TokenLifetimeInvalid, "lifetime-invalid")):
        if isinstance(exc, kind):
            return key
    return "name-invalid"


def _audit(request: Request, who: SignedIn, action: str, outcome: str,
           detail: dict[str, str]) -> None:
    """Every change to who may do what is in the audit log, like a reveal or a lookup: the
    account or token it touched is named by its id, a password or token never."""
    console_state(request).services.audit.append(
        action=f"console.admin.{action}", outcome=outcome, principal=who.user.principal,
        request_id=str(getattr(request.state, "request_id", "")), detail=detail)


def _users_page(request: Request, who: SignedIn, message: str = "", status: int = 200,
                done: str = "") -> Response:
    users = console_state(request).users.list()
    return page("console/admin_users.html", locale=who.user.locale, status=status, who=who,
                users=users, roles=ROLES, message=message, done=done,
                current_path="/console/admin/users")


@router.get("/users")
def users(request: Request) -> Response:
    who, refusal = _admin(request)
    return refusal or _users_page(request, who)  # type: ignore[arg-type]


@router.post("/users")
def create_user(request: Request, name: Text = "", role: Text = "", scope: Text = "",
                password: Text = "", csrf: Text = "") -> Response:
    who, refusal = _admin_form(request, csrf, _users_page)
    if refusal is not None or who is None:
        return refusal or to_login()
    try:
        console_state(request).users.create(name, role, [scope] if scope else [], password)
    except (HubError, DataHubError) as exc:
        _audit(request, who, "user.create", f"refused:{_problem(exc)}", {})
        return _users_page(request, who, _problem(exc), 400)
    _audit(request, who, "user.create", "ok", {"user": name, "role": role, "scope": scope})
    return _users_page(request, who, done="created")


@router.post("/users/{name}/disable")
def disable_user(request: Request, name: str, csrf: Text = "") -> Response:
    who, refusal = _admin_form(request, csrf, _users_page)
    if refusal is not None or who is None:
        return refusal or to_login()
    state = console_state(request)
    if name == who.user.name:  # an administrator never locks themselves out by a click
        return _users_page(request, who, "bad-form", 400)
    try:
        state.users.disable(name)
    except UserUnknown as exc:
        _audit(request, who, "user.disable", f"refused:{_problem(exc)}", {})
        return _users_page(request, who, _problem(exc), 404)
    _audit(request, who, "user.disable", "ok", {"user": name})
    state.sessions.end_all(name)  # signed out everywhere at once
    return RedirectResponse("/console/admin/users", status_code=303)


@router.post("/users/{name}/password")
def reset_password(request: Request, name: str, password: Text = "",
                   csrf: Text = "") -> Response:
    who, refusal = _admin_form(request, csrf, _users_page)
    if refusal is not None or who is None:
        return refusal or to_login()
    state = console_state(request)
    try:
        state.users.reset_password(name, password)
    except (UserUnknown, PasswordInvalid) as exc:
        _audit(request, who, "user.reset_password", f"refused:{_problem(exc)}", {})
        return _users_page(request, who, _problem(exc), 400)
    _audit(request, who, "user.reset_password", "ok", {"user": name})
    state.sessions.end_all(name)
    return _users_page(request, who, done="password")


def _tokens_page(request: Request, who: SignedIn, message: str = "", status: int = 200,
                 issued: dict[str, Any] | None = None) -> Response:
    tokens = console_state(request).services.tokens.list()
    return page("console/admin_tokens.html", locale=who.user.locale, status=status, who=who,
                tokens=list(reversed(tokens)), roles=ROLES, message=message, issued=issued,
                current_path="/console/admin/tokens")


@router.get("/tokens")
def tokens(request: Request) -> Response:
    who, refusal = _admin(request)
    return refusal or _tokens_page(request, who)  # type: ignore[arg-type]


@router.post("/tokens")
def issue_token(request: Request, name: Text = "", role: Text = "", scope: Text = "",
                expires_in: Text = "90d", csrf: Text = "") -> Response:
    """The token is in this answer only (no-store); the list shows its id from now on."""
    who, refusal = _admin_form(request, csrf, _tokens_page)
    if refusal is not None or who is None:
        return refusal or to_login()
    store = console_state(request).services.tokens
    try:
        token_id, token = store.create(role, [scope] if scope else [], name,
                                       parse_lifetime(expires_in))
    except (HubError, DataHubError) as exc:
        _audit(request, who, "token.create", f"refused:{_problem(exc)}", {})
        return _tokens_page(request, who, _problem(exc), 400)
    _audit(request, who, "token.create", "ok", {"token_id": token_id, "role": role,
                                                "scope": scope})
    return _tokens_page(request, who, issued={"token_id": token_id, "token": token})


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: str, csrf: Text = "") -> Response:
    who, refusal = _admin_form(request, csrf, _tokens_page)
    if refusal is not None or who is None:
        return refusal or to_login()
    console_state(request).services.tokens.revoke(token_id[:64])
    _audit(request, who, "token.revoke", "ok", {"token_id": token_id[:64]})
    return RedirectResponse("/console/admin/tokens", status_code=303)


@router.get("/catalog")
def catalog(request: Request) -> Response:
    who, refusal = _admin(request)
    if refusal is not None or who is None:
        return refusal or to_login()
    store = console_state(request).services.catalog
    datasets = [dataset_detail(store, d["name"], date.today(), batch_limit=1)
                for d in store.list_datasets()]
    return page("console/admin_catalog.html", locale=who.user.locale, who=who,
                datasets=datasets, current_path="/console/admin/catalog")


@router.get("/keys")
def keys(request: Request) -> Response:
    who, refusal = _admin(request)
    if refusal is not None or who is None:
        return refusal or to_login()
    rows = [{"key": r.key, "kind": "env" if r.source.startswith("environment") else "file",
             "permissions": r.permissions, "fingerprint": r.fingerprint,
             "problem": without_paths(r.problem)}
            for r in check_keys(console_state(request).services.settings)]
    return page("console/admin_keys.html", locale=who.user.locale, who=who, keys=rows,
                current_path="/console/admin/keys")
