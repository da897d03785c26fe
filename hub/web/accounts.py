"""Console accounts: user name, role and scope (as API tokens), argon2id password hash.

A login is checked in the same time whether or not the user exists (a dummy hash is verified
for unknown names), and after `lockout_attempts` consecutive failures the account refuses
every password, the right one included, for `lockout_seconds`. A reset password unlocks.
"""

from __future__ import annotations

import builtins
import functools
import json
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, case, insert, select, update

from hub.security.errors import RoleInvalid, TokenNameInvalid
from hub.security.roles import Principal, Role
from hub.security.tokens import validate_scope
from hub.state.tables import console_users
from hub.web.errors import PasswordInvalid, UserExists, UserUnknown

MIN_PASSWORD = 10
MAX_PASSWORD = 200
MAX_NAME = 64
LOCALES = ("zh", "en")
PRINCIPAL_PREFIX = "user"  # audit actor "user:<name>", beside tokens' "<token id>:<label>"
_hasher = PasswordHasher()  # argon2id with the library's current RFC 9106 parameters


@functools.cache
def _dummy_hash() -> str:
    """What a sign-in of an unknown or disabled user checks against, for a wrong password's
    cost; made at the first such sign-in, not by every process that imports accounts."""
    return _hasher.hash("not a password of anyone")


class LoginOutcome(StrEnum):
    OK = "granted"
    WRONG = "refused:wrong_password"
    UNKNOWN = "refused:unknown_user"
    DISABLED = "refused:disabled"
    LOCKED = "refused:locked"  # the account was locked before this attempt
    LOCKED_NOW = "refused:locked_now"  # this failure locked it


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    scope: tuple[str, ...]
    locale: str

    @property
    def principal(self) -> Principal:
        return Principal(token_id=PRINCIPAL_PREFIX, name=self.name, role=self.role,
                         scope=self.scope)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _validate_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME:
        raise TokenNameInvalid(f"must have 1 to {MAX_NAME} characters")
    if any(unicodedata.category(ch)[0] in "CZ" for ch in cleaned):
        raise TokenNameInvalid("may not contain spaces or control characters")
    return cleaned


def _validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise PasswordInvalid(f"needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise PasswordInvalid(f"may have at most {MAX_PASSWORD} characters")
    return password


def _user(row: Any) -> User:
    return User(name=row.name, role=Role(row.role),
                scope=tuple(str(s) for s in json.loads(row.scope)), locale=row.locale)


class UserStore:
    def __init__(self, engine: Engine, lockout_attempts: int = 5,
                 lockout_seconds: float = 900.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.lockout_attempts = lockout_attempts
        self.lockout_seconds = lockout_seconds
        self._clock = clock

    def create(self, name: str, role: Role | str, scope: builtins.list[str],
               password: str) -> User:
        label = _validate_name(name)
        try:
            parsed = Role(role)
        except ValueError:
            raise RoleInvalid([r.value for r in Role]) from None
        items = validate_scope(parsed, scope)
        digest = _hasher.hash(_validate_password(password))
        with self.engine.begin() as conn:
            if conn.execute(select(console_users.c.name).where(
                    console_users.c.name == label)).first() is not None:
                raise UserExists(label)
            conn.execute(insert(console_users).values(
                name=label, role=parsed.value, scope=json.dumps(list(items)),
                password_hash=digest, locale="zh", failed_logins=0, locked_until=None,
                created_at=_now(), disabled_at=None))
        return User(label, parsed, items, "zh")

    def _set(self, name: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(update(console_users).where(console_users.c.name == name)
                                  .values(**values))
        if not result.rowcount:
            raise UserUnknown(name)

    def disable(self, name: str) -> None:
        self._set(name, disabled_at=_now())

    def reset_password(self, name: str, password: str) -> None:
        self._set(name, password_hash=_hasher.hash(_validate_password(password)),
                  failed_logins=0, locked_until=None)

    def set_locale(self, name: str, locale: str) -> None:
        if locale not in LOCALES:
            raise PasswordInvalid("unknown language")  # never reached from the form's list
        self._set(name, locale=locale)

    def get(self, name: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(console_users).where(
                console_users.c.name == name, console_users.c.disabled_at.is_(None))).first()
        return _user(row) if row is not None else None

    def list(self) -> builtins.list[dict[str, Any]]:
        u = console_users
        with self.engine.connect() as conn:
            rows = conn.execute(select(u).order_by(u.c.name)).all()
        now = self._clock()
        return [{"name": r.name, "role": r.role, "scope": json.loads(r.scope),
                 "locale": r.locale, "created_at": r.created_at,
                 "disabled_at": r.disabled_at,
                 "locked": r.locked_until is not None and r.locked_until > now}
                for r in rows]

    def authenticate(self, name: str, password: str) -> tuple[LoginOutcome, User | None]:
        """The outcome of one login and, when it is known, the user it was for."""
        with self.engine.connect() as conn:
            row = conn.execute(select(console_users).where(
                console_users.c.name == name.strip()[:MAX_NAME])).first()
        if row is None:
            _verify(_dummy_hash(), password)  # same cost as a wrong password
            return LoginOutcome.UNKNOWN, None
        user = _user(row)
        now = self._clock()
        if row.locked_until is not None and row.locked_until > now:
            _verify(_dummy_hash(), password)
            return LoginOutcome.LOCKED, user
        if row.disabled_at is not None:
            _verify(_dummy_hash(), password)
            return LoginOutcome.DISABLED, user
        if _verify(row.password_hash, password[:MAX_PASSWORD]):
            values: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
            if _hasher.check_needs_rehash(row.password_hash):
                values["password_hash"] = _hasher.hash(password)
            self._set(row.name, **values)
            return LoginOutcome.OK, user
        u = console_users
        with self.engine.begin() as conn:  # counted in the database: workers run side by side
            failures = conn.execute(update(u).where(u.c.name == row.name).values(
                failed_logins=case((u.c.locked_until.is_not(None), 1),
                                   else_=u.c.failed_logins + 1),
                locked_until=None).returning(u.c.failed_logins)).scalar_one()
            locked = failures >= self.lockout_attempts
            if locked:
                conn.execute(update(u).where(u.c.name == row.name).values(
                    locked_until=now + self.lockout_seconds))
        return (LoginOutcome.LOCKED_NOW if locked else LoginOutcome.WRONG), user


def _verify(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False
