"""The hot path of a resident look-up: ID number -> resident key -> published document text.

Profiled on a 2-core host (py-spy, 200k residents), a search spent most of its time turning
one ID number into its key: `resident_key_for_id_number` runs the pipeline's vectorised code
(pandas/Arrow normalisation, then HMAC inside an in-memory DuckDB) on a one-row Series, about
6 ms + 20 ms per call, against microseconds for the same work on one Python string. Here:

- `ResidentKeys.key`: a canonical 18-character ID with a valid check character and birth date
  is already normalised, so its key is one `hmac` call under the resident-ID subkey. One that
  the pipeline's clean-up only maps from full width, upper-cases and strips of spaces and
  hyphens is the same once so cleaned, and one of canonical shape with a wrong check
  character or birth date is refused as the pipeline refuses it. Anything else (15 or 17
  digits, Excel damage, other characters) is cleaned by the pipeline's own
  `normalise_resident_id`, so repairs and refusals stay exactly the pipeline's. The subkey
  is checked against `Pseudonymiser` on canary values at start-up: if the two ever differ,
  every look-up takes the pipeline's path (logged), never a wrong key.
- `ResidentDocuments.text`: the current generation and the document in one statement (one
  snapshot, one round trip) returning the JSON text as published, so that a caller who may
  see all of it gets it without a parse and a re-serialisation.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import hmac
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from operator import mul
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Engine, text

from desensitize.pseudonym import DOMAIN_PREFIX, PSEUDONYM_HEX_CHARS, Pseudonymiser
from hub.views.publish import CURRENT
from hub.views.read import RESIDENT_ID_DOMAIN, resident_key_for_id_number
from schemas.identity import normalise_resident_id

log = logging.getLogger("hub.api")
T = TypeVar("T")
NETWORKED_READERS = 8  # reader threads (and connections) per API process, PostgreSQL

_CANONICAL = re.compile(r"[0-9]{17}[0-9X]")  # ASCII only: full-width digits take the slow path
# ASCII digits, x and the separators the pipeline's clean-up removes ([[:space:]] and '-'):
# for these its clean-up is exactly upper-casing and dropping the separators.
_PLAIN_DAMAGE = re.compile(r"[0-9xX \t\n\r\f\v-]+")
_SEPARATORS = str.maketrans("", "", " \t\n\r\f\v-")
# Full-width digits, x, X, hyphen and the ideographic space: NFKC (the clean-up's first
# step) maps each to its ASCII character, one for one.
_FULL_WIDTH = str.maketrans({**{0xFF10 + d: str(d) for d in range(10)}, 0xFF38: "X",
                             0xFF58: "x", 0xFF0D: "-", 0x3000: " "})
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_DIGIT_BIAS = ord("0") * sum(_WEIGHTS)  # the weighted sum of 17 ASCII codes minus the digits'
_CHECK = "10X98765432"
_CANARIES = ("110105194102031234", "440304200001010001", "")


def canonical_valid_id(text: str, today: date) -> bool:
    """True for an 18-character ID the pipeline would keep exactly as written."""
    return len(text) == 18 and _CANONICAL.fullmatch(text) is not None \
        and _valid_canonical(text, today)


def _valid_canonical(text: str, today: date) -> bool:
    """Check character and birth date of a string that matches _CANONICAL."""
    total = sum(map(mul, text.encode("ascii", "strict")[:17], _WEIGHTS)) - _DIGIT_BIAS
    if _CHECK[total % 11] != text[17]:
        return False
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:  # not a calendar date
        return False
    return date(1900, 1, 1) <= born <= today


class ResidentKeys:
    """ID number as typed -> resident key (or None for an invalid number); thread-safe."""

    def __init__(self, pseudonym_key: bytes) -> None:
        self._master = pseudonym_key
        subkey = hmac.digest(pseudonym_key, DOMAIN_PREFIX + RESIDENT_ID_DOMAIN.encode("utf-8"),
                             "sha256")
        # Keyed once; each call copies the keyed state instead of re-deriving the pads.
        self._mac: hmac.HMAC | None = hmac.new(subkey, digestmod=hashlib.sha256)
        with Pseudonymiser(pseudonym_key) as reference:
            expected = reference.pseudonymise(pd.Series(_CANARIES, dtype="string"),
                                              RESIDENT_ID_DOMAIN).tolist()
        if [self._hmac(c) for c in _CANARIES] != expected:
            log.error("resident-key fast path disagrees with the Pseudonymiser: disabled "
                      "(look-ups stay correct but slow; align hub/api/lookup.py)")
            self._mac = None

    def _hmac(self, value: str) -> str:
        assert self._mac is not None
        mac = self._mac.copy()
        mac.update(value.encode("utf-8"))
        return mac.hexdigest()[:PSEUDONYM_HEX_CHARS]

    def key(self, raw_id: str, today: date | None = None) -> str | None:
        """The key of `raw_id`, or None when the pipeline would refuse it as an ID number."""
        today = today or date.today()
        if self._mac is None:
            with Pseudonymiser(self._master) as own:
                return resident_key_for_id_number(raw_id, own, today)
        if len(raw_id) == 18 and _CANONICAL.fullmatch(raw_id) is not None:
            # The pipeline keeps a canonical number as written, or refuses it.
            return self._hmac(raw_id) if _valid_canonical(raw_id, today) else None
        plain = raw_id if raw_id.isascii() else raw_id.translate(_FULL_WIDTH)
        if _PLAIN_DAMAGE.fullmatch(plain) is not None:
            cleaned = plain.upper().translate(_SEPARATORS)
            if len(cleaned) == 18 and _CANONICAL.fullmatch(cleaned) is not None:
                return self._hmac(cleaned) if _valid_canonical(cleaned, today) else None
        # Repairs and refusals exactly as the pipeline makes them (pandas: slow, but rare input).
        result = normalise_resident_id(pd.Series([raw_id], dtype="string"), today)
        value = result.values.iloc[0]
        if not bool(result.ok.iloc[0]) or value is pd.NA:
            return None
        return self._hmac(str(value))


_DOCUMENT_SQL = ("SELECT r.document FROM view_state AS s JOIN view_residents AS r "
                 "ON r.generation = s.generation AND r.resident_key = {key} "
                 "WHERE s.name = {name}")
_DOCUMENT_SQLITE = _DOCUMENT_SQL.format(key="?", name="?")
_DOCUMENT_PG = _DOCUMENT_SQL.format(key="%s", name="%s")


class ResidentDocuments:
    """The published document of a resident key, as stored (JSON text), or None.

    Each thread reads through a DBAPI connection of its own, kept open, with one fixed
    statement (on PostgreSQL prepared once per connection): a pool check-out, its reset,
    SQLAlchemy's statement handling and, past the pool's size, a new connection with its
    pragmas cost more than the indexed read itself. The look-up routes read on the event
    loop when the store is a local SQLite file (`local`), else in this object's reader
    threads (`off_loop`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.local = engine.dialect.name == "sqlite"
        # A networked store's reads run in a few threads of their own, so that the readers'
        # connections stay few (one per thread) however many requests wait.
        self._pool = None if self.local else ThreadPoolExecutor(
            NETWORKED_READERS, thread_name_prefix="hub-reader")
        self._local = threading.local()
        self._opened: list[tuple[int, Any]] = []  # (pid, pooled) of every reader, to close
        self._guard = threading.Lock()

    def _reader(self) -> Any:
        current = getattr(self._local, "con", None)
        if current is not None and getattr(self._local, "pid", 0) == os.getpid():
            return current
        return self._open_reader()

    def _open_reader(self) -> Any:
        pooled = self.engine.raw_connection()  # the engine's connect arguments and pragmas
        pooled.detach()
        con: Any = pooled.dbapi_connection
        if self.local:
            if not isinstance(con, sqlite3.Connection):
                raise TypeError("the state store's driver is not sqlite3")
            con.isolation_level = None  # each SELECT its own snapshot, no transaction held
        else:
            con.autocommit = True  # the same on PostgreSQL
        self._local.con, self._local.pid = con, os.getpid()
        with self._guard:
            self._opened.append((os.getpid(), pooled))
        return con

    def _drop_reader(self) -> None:
        """Forget this thread's reader after an error: the next read opens a new one."""
        con = getattr(self._local, "con", None)
        self._local.con = None
        if con is not None:
            with contextlib.suppress(Exception):
                con.close()

    async def off_loop(self, work: Callable[[], T]) -> T:
        """`work()` (which reads this store) in a reader thread, in a copy of the caller's
        context; on a local store it runs here."""
        if self._pool is None:
            return work()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, contextvars.copy_context().run, work)

    def close(self) -> None:
        """Close every reader this process opened (at the app's shutdown)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        with self._guard:
            opened, self._opened = self._opened, []
        for pid, pooled in opened:
            if pid == os.getpid():
                with contextlib.suppress(Exception):
                    pooled.close()
        self._local = threading.local()

    def ping(self) -> None:
        """A `SELECT 1` on the state store; raises what the store raises."""
        if self.local:
            self._reader().execute("SELECT 1").fetchall()
            return
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def text(self, resident_key: str) -> str | None:
        if self.local:
            try:
                # fetchall: the statement ends here, and its read snapshot with it
                rows = self._reader().execute(_DOCUMENT_SQLITE,
                                              (resident_key, CURRENT)).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" not in str(exc):
                    raise
                return None  # nothing published yet
            return str(rows[0][0]) if rows else None
        return self._text_networked(resident_key)

    def _text_networked(self, resident_key: str) -> str | None:
        try:
            with self._reader().cursor() as cur:
                cur.execute(_DOCUMENT_PG, (resident_key, CURRENT), prepare=True)
                row = cur.fetchone()
        except Exception as exc:
            self._drop_reader()  # a broken or aborted connection is not reused
            if _undefined_table(exc):
                return None  # no view tables yet: nothing published
            raise
        return None if row is None else str(row[0])


def _undefined_table(exc: Exception) -> bool:
    return getattr(exc, "sqlstate", None) == "42P01"
