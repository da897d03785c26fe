"""Per-actor rate limit of a sensitive action (reveal), counted from the audit log itself.

The API runs several worker processes, so an in-memory counter would let each process grant
the full limit. The audit log already holds one record per attempt, shared by all processes,
so the limit is counted there: records of this action by this actor within the window. Count
and append must be atomic across processes, otherwise two processes could both count limit-1
and both grant; an exclusive `flock` on a lock file in the state folder serialises them (the
audit append's own SQLite lock covers only the append, not the count before it). On
PostgreSQL the API may run on several hosts, which share no lock file: a session-level
advisory lock on the action, held on a connection of its own, serialises them there.

Refusals for the limit itself are not counted, so a client that keeps retrying is let in again
once its oldest counted attempt leaves the window (which is what Retry-After tells it).
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, func, select, text

from hub.audit.log import AuditLog, audit_events
from hub.errors import HubError

RATE_LIMITED = "refused:rate_limited"
_LOCK_POLL_SECONDS = 0.01


class RateLimitBusy(HubError):
    status = 503  # retry shortly

    def __init__(self, lock_path: str, waited: float) -> None:
        self.lock_path = lock_path
        self.waited = waited
        super().__init__(
            f"the rate-limit lock {lock_path} was held for over {waited:.0f} s by another API "
            "process; try again, and if it persists look for a hung API worker")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    used: int  # counted attempts in the window before this one
    limit: int
    retry_after: int  # seconds until the oldest counted attempt leaves the window (0: allowed)


def _at_text(moment: datetime) -> str:
    # The audit log's own text form of `at` (UTC, microseconds, Z): text order is time order.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class ActionRateLimit:
    """At most `limit` records of `action` per actor in any `window_seconds`."""

    def __init__(self, audit: AuditLog, lock_path: Path, action: str, limit: int,
                 window_seconds: int, lock_timeout: float = 10.0) -> None:
        self.audit = audit
        self.lock_path = Path(lock_path)
        self.action = action
        self.limit = limit
        self.window_seconds = window_seconds
        self.lock_timeout = lock_timeout

    def count(self, actor: str, now: datetime | None = None) -> tuple[int, datetime | None]:
        """(attempts counted in the window, time of the oldest of them). Read-only query."""
        now = now or datetime.now(UTC)
        since = _at_text(now - timedelta(seconds=self.window_seconds))
        t = audit_events
        query = select(func.count(), func.min(t.c.at)).where(
            t.c.actor == actor, t.c.action == self.action, t.c.at >= since,
            t.c.outcome != RATE_LIMITED)
        with self.audit.engine.connect() as conn:
            row = conn.execute(query).one()
        return int(row[0]), (_parse_at(row[1]) if row[1] else None)

    def verdict(self, actor: str) -> Verdict:
        now = datetime.now(UTC)
        used, oldest = self.count(actor, now)
        if used < self.limit:
            return Verdict(True, used, self.limit, 0)
        expires = (oldest or now) + timedelta(seconds=self.window_seconds)
        wait = max(1, math.ceil((expires - now).total_seconds()))
        return Verdict(False, used, self.limit, wait)

    @contextmanager
    def hold(self, actor: str) -> Iterator[Verdict]:
        """The verdict for one more attempt, with the lock held until the block has appended
        its audit record (granted or refused). Keep the block short: it serialises every
        process's attempts of this action."""
        with self._locked():
            yield self.verdict(actor)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if self.audit.engine.dialect.name == "postgresql":
            with self._advisory_locked():
                yield
            return
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            # Polled rather than blocking, so that a hung holder costs a 503, not a thread.
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise RateLimitBusy(str(self.lock_path), self.lock_timeout) from None
                    time.sleep(_LOCK_POLL_SECONDS)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextmanager
    def _advisory_locked(self) -> Iterator[None]:
        digest = hashlib.sha256(f"hub.ratelimit:{self.action}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        with self.audit.engine.connect() as conn:
            _poll_advisory(conn, key, self.lock_timeout, str(self.lock_path))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()


def _poll_advisory(conn: Connection, key: int, timeout: float, label: str) -> None:
    # Polled like the flock above: a hung holder costs a 503, not a thread.
    deadline = time.monotonic() + timeout
    while True:
        taken = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        conn.commit()  # the lock is the session's; no transaction stays open meanwhile
        if taken:
            return
        if time.monotonic() > deadline:
            raise RateLimitBusy(label, timeout)
        time.sleep(_LOCK_POLL_SECONDS)
