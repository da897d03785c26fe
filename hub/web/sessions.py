"""Login sessions: a random cookie value, stored only as its SHA-256, with a CSRF token.

The cookie is HttpOnly and SameSite=Strict; every form carries the session's CSRF token as
well (a second line of defence, and the only one for browsers that ignore SameSite). A
session unused for `idle_seconds` is gone: the next request finds nothing and logs in again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select, update

from hub.state.tables import console_sessions

COOKIE = "hub_console"
LOGIN_CSRF_COOKIE = "hub_console_login"  # before a session exists: double-submit cookie
TOUCH_SECONDS = 30.0  # last_seen is written at most this often per session


@dataclass(frozen=True)
class Session:
    user_name: str
    csrf_token: str
    session_hash: str


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def same_token(sent: str | None, expected: str | None) -> bool:
    return bool(sent) and bool(expected) and hmac.compare_digest(
        str(sent).encode("utf-8"), str(expected).encode("utf-8"))


class SessionStore:
    def __init__(self, engine: Engine, idle_seconds: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds
        self._clock = clock

    def create(self, user_name: str) -> tuple[str, Session]:
        """(cookie value, session); the cookie value is not stored."""
        value = secrets.token_urlsafe(32)
        session = Session(user_name, secrets.token_urlsafe(32), _hash(value))
        now = self._clock()
        with self.engine.begin() as conn:
            conn.execute(insert(console_sessions).values(
                session_hash=session.session_hash, user_name=user_name,
                csrf_token=session.csrf_token, created_at=now, last_seen=now))
        return value, session

    def get(self, value: str | None) -> Session | None:
        if not value or len(value) > 100:
            return None
        digest = _hash(value)
        now = self._clock()
        s = console_sessions
        with self.engine.connect() as conn:
            row = conn.execute(select(s).where(s.c.session_hash == digest)).first()
        if row is None:
            return None
        if now - row.last_seen > self.idle_seconds:
            self.end(value)
            return None
        if now - row.last_seen > min(TOUCH_SECONDS, self.idle_seconds / 4):
            with self.engine.begin() as conn:
                conn.execute(update(s).where(s.c.session_hash == digest).values(last_seen=now))
        return Session(row.user_name, row.csrf_token, digest)

    def end(self, value: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(console_sessions).where(
                console_sessions.c.session_hash == _hash(value)))

    def end_all(self, user_name: str) -> int:
        """Every session of a user (disabled, password reset): logged out everywhere."""
        with self.engine.begin() as conn:
            result = conn.execute(delete(console_sessions).where(
                console_sessions.c.user_name == user_name))
        return int(result.rowcount or 0)
