"""Bearer tokens: created once, stored only as HMAC-SHA256(pepper, token), revocable, expiring.

A token reads `hub_<token_id>_<secret>`. The id (16 hex characters) finds the row with one
primary-key lookup; the whole token is then HMAC'd under the pepper (a key file outside the
database) and compared in constant time. A copy of the state store therefore yields neither
usable tokens nor hashes that can be brute-forced without the pepper.

An API process may keep valid tokens for `cache_seconds` (the API uses TOKEN_CACHE_SECONDS)
instead of reading the row on every request: the entry holds the token's HMAC, so only the
same whole token hits it. The price is bounded: a token revoked from another process (`hub
token revoke`) is still accepted by each API process for at most `cache_seconds`; a revoke
through the same store takes effect at once. Unknown, wrong or revoked tokens are never cached.

Every token ends (`expires_in`, 90 days unless asked otherwise, at most MAX_LIFETIME_DAYS): a
leaked token that nobody revoked stops working by itself. The right token past its end raises
TokenExpired, so that its holder learns why (401 `token-expired`) instead of a bare refusal.
The API hands over the token of an `Authorization` header only if the header is exactly
`Bearer <token>` (RFC 6750; `bearer_token`).
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from hub.security.errors import (
    RoleInvalid,
    ScopeInvalid,
    TokenExpired,
    TokenLifetimeInvalid,
    TokenNameInvalid,
    TokenStoreUnavailable,
)
from hub.security.roles import Principal, Role
from hub.state.tables import TOKEN_NAME_MAX, api_tokens
from schemas.registry import all_contracts, source_contracts

TOKEN_PREFIX = "hub"
TOKEN_ID_HEX = 16
SECRET_BYTES = 24  # 32 URL-safe characters, 192 bits
MAX_NAME = TOKEN_NAME_MAX
_DUMMY_DIGEST = "0" * 64
TOKEN_CACHE_SECONDS = 2.0  # the API's revocation delay across processes (see module doc)
_CACHE_MAX = 10_000  # valid tokens only, so this bounds memory, not correctness
DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME_DAYS = 730
_LIFETIME = re.compile(r"([1-9][0-9]{0,5})([dwh])")
_LIFETIME_UNITS = {"d": timedelta(days=1), "w": timedelta(weeks=1), "h": timedelta(hours=1)}
# RFC 6750 credentials: the scheme (any case), spaces, one b64token and nothing else.
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)")

def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _parse_time(text: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def parse_lifetime(text: str) -> timedelta:
    """`90d`, `2w` or `12h` as a duration, at most MAX_LIFETIME_DAYS; TokenLifetimeInvalid."""
    match = _LIFETIME.fullmatch(text.strip().lower())
    if match is None:
        raise TokenLifetimeInvalid(MAX_LIFETIME_DAYS)
    lifetime = int(match.group(1)) * _LIFETIME_UNITS[match.group(2)]
    if lifetime > timedelta(days=MAX_LIFETIME_DAYS):
        raise TokenLifetimeInvalid(MAX_LIFETIME_DAYS)
    return lifetime


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization` header that is exactly `Bearer <token>`, else None
    (so `Bearer Bearer <token>`, a second token or another scheme get nothing)."""
    if authorization is None:
        return None
    match = _BEARER.fullmatch(authorization.strip(" \t"))
    return match.group(1) if match else None


def _split_items(scope: Iterable[str]) -> list[str]:
    items: list[str] = []
    for entry in scope:
        items.extend(part.strip() for part in str(entry).split(","))
    return sorted({item for item in items if item})


def validate_scope(role: Role, scope: Iterable[str]) -> tuple[str, ...]:
    """The scope normalised (comma lists split, duplicates removed, sorted) or ScopeInvalid."""
    items = _split_items(scope)
    if role == Role.STREET_OFFICE:
        if not items:
            raise ScopeInvalid(role, "a street office needs at least one 9-digit street code")
        bad = [i for i in items if not (len(i) == 9 and i.isascii() and i.isdigit())]
        if bad:
            raise ScopeInvalid(role, f"{len(bad)} entries are not 9-digit street codes "
                                     "(6-digit county + 3-digit street)")
    elif role == Role.DEPARTMENT:
        known = sorted(source_contracts())
        if not items:
            raise ScopeInvalid(role, "a department needs at least one dataset: "
                                     + ", ".join(known))
        if any(i not in known for i in items):
            raise ScopeInvalid(role, "unknown dataset; use one of: " + ", ".join(known))
    elif role == Role.RESEARCHER:  # safe releases of these datasets (hub.release.jobs)
        datasets = sorted(all_contracts())
        if not items or any(i not in datasets for i in items):
            raise ScopeInvalid(role, "a researcher needs the datasets it may export: "
                                     + ", ".join(datasets))
    elif items not in ([], ["*"]):
        raise ScopeInvalid(role, "auditor and admin tokens take no scope (or '*')")
    return tuple(items)


def _validate_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise TokenNameInvalid("is empty")
    if len(cleaned) > MAX_NAME:
        raise TokenNameInvalid(f"is longer than {MAX_NAME} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise TokenNameInvalid("contains control characters")
    return cleaned


def _parse_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise RoleInvalid([r.value for r in Role]) from None


class TokenStore:
    def __init__(self, engine: Engine, pepper: bytes, cache_seconds: float = 0.0,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = _utc_now) -> None:
        if len(pepper) < 32:
            raise ValueError("the token pepper must have at least 32 bytes (SecurityKeys)")
        self.engine = engine
        self._mac = hmac.new(pepper, digestmod=hashlib.sha256)
        self._url = engine.url.render_as_string(hide_password=True)
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._now = now  # wall clock of expiry (the cache ages on the monotonic `clock`)
        # token id -> (HMAC of the whole token, principal, when the row was read, its end)
        self._cache: dict[str, tuple[str, Principal, float, datetime]] = {}

    def __repr__(self) -> str:
        return f"TokenStore({self._url})"

    def _digest(self, token: str) -> str:
        mac = self._mac.copy()  # keyed once in __init__
        mac.update(token.encode("utf-8"))
        return mac.hexdigest()

    def create(self, role: Role | str, scope: builtins.list[str], name: str,
               expires_in: timedelta = DEFAULT_LIFETIME) -> tuple[str, str]:
        """(token_id, token). The token is shown once: only its HMAC is stored."""
        parsed = _parse_role(role)
        items = validate_scope(parsed, scope)
        label = _validate_name(name)
        if not timedelta(0) < expires_in <= timedelta(days=MAX_LIFETIME_DAYS):
            raise TokenLifetimeInvalid(MAX_LIFETIME_DAYS)
        now = self._now()
        token_id = secrets.token_hex(TOKEN_ID_HEX // 2)
        token = f"{TOKEN_PREFIX}_{token_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
        row = {"token_id": token_id, "name": label, "role": parsed.value,
               "scope": json.dumps(list(items)), "token_hmac": self._digest(token),
               "created_at": _text(now), "revoked_at": None,
               "expires_at": _text(now + expires_in)}
        try:
            with self.engine.begin() as conn:
                conn.execute(api_tokens.insert().values(**row))
        except SQLAlchemyError as exc:
            raise TokenStoreUnavailable(self._url, exc.__class__.__name__) from exc
        return token_id, token

    def authenticate(self, token: str | None) -> Principal | None:
        """The principal of a valid, unrevoked, unexpired token; TokenExpired for the right
        token past its end; None for anything else. `token` is the token itself (the API
        takes it out of the header with `bearer_token`)."""
        if not token:
            return None
        parts = token.split("_", 2)
        token_id = parts[1] if len(parts) == 3 and parts[0] == TOKEN_PREFIX else ""
        digest = self._digest(token)
        if self.cache_seconds > 0:
            hit = self._cache.get(token_id)
            if hit is not None and self._clock() - hit[2] < self.cache_seconds \
                    and hmac.compare_digest(digest, hit[0]) and self._now() < hit[3]:
                return hit[1]
        read_at = self._clock()
        row = None
        if len(token_id) == TOKEN_ID_HEX:
            try:
                with self.engine.connect() as conn:
                    row = conn.execute(select(api_tokens).where(
                        api_tokens.c.token_id == token_id)).first()
            except SQLAlchemyError as exc:
                raise TokenStoreUnavailable(self._url, exc.__class__.__name__) from exc
        # Always HMAC and compare, so a missing id costs the same as a wrong secret.
        stored = row.token_hmac if row is not None else _DUMMY_DIGEST
        matches = hmac.compare_digest(digest, stored)
        if row is None or not matches or row.revoked_at is not None:
            self._cache.pop(token_id, None)
            return None
        ends = _parse_time(row.expires_at)
        try:
            role = Role(row.role)
            scope = tuple(str(s) for s in json.loads(row.scope))
        except (ValueError, TypeError):
            ends = None
        if ends is None:
            self._cache.pop(token_id, None)
            return None  # a damaged row grants nothing
        if self._now() >= ends:
            self._cache.pop(token_id, None)
            raise TokenExpired(token_id, row.expires_at)
        principal = Principal(token_id=row.token_id, name=row.name, role=role, scope=scope)
        if self.cache_seconds > 0:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[token_id] = (stored, principal, read_at, ends)
        return principal

    def revoke(self, token_id: str) -> bool:
        """True if the token existed and was active; revoked tokens stay listed."""
        self._cache.pop(token_id, None)
        try:
            with self.engine.begin() as conn:
                result = conn.execute(update(api_tokens).where(
                    api_tokens.c.token_id == token_id, api_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=_text(self._now())))
        except SQLAlchemyError as exc:
            raise TokenStoreUnavailable(self._url, exc.__class__.__name__) from exc
        return bool(result.rowcount)

    def list(self) -> builtins.list[dict[str, Any]]:
        """Every token without its secret or HMAC, oldest first; `active`: usable now."""
        t = api_tokens
        now = self._now()
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select(t.c.token_id, t.c.name, t.c.role, t.c.scope,
                                           t.c.created_at, t.c.revoked_at, t.c.expires_at)
                                    .order_by(t.c.created_at, t.c.token_id)).all()
        except SQLAlchemyError as exc:
            raise TokenStoreUnavailable(self._url, exc.__class__.__name__) from exc
        return [{"token_id": r.token_id, "name": r.name, "role": r.role,
                 "scope": json.loads(r.scope), "created_at": r.created_at,
                 "revoked_at": r.revoked_at, "expires_at": r.expires_at,
                 "active": r.revoked_at is None and _unexpired(r.expires_at, now)}
                for r in rows]


def _unexpired(expires_at: str | None, now: datetime) -> bool:
    ends = _parse_time(expires_at)
    return ends is not None and now < ends
