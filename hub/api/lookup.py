"""The hot path of a resident look-up: ID number -> resident key -> published document text.

Profiled on a 2-core host (py-spy, 200k residents), a search spent most of its time turning
one ID number into its key: `resident_key_for_id_number` runs the pipeline's vectorised code
(pandas/Arrow normalisation, then HMAC inside an in-memory DuckDB) on a one-row Series, about
6 ms + 20 ms per call, against microseconds for the same work on one Python string. Here:

- `ResidentKeys.key`: a canonical 18-character ID with a valid check character and birth date
  is already normalised, so its key is one `hmac` call under the resident-ID subkey. Anything
  else (15 digits, lower-case x, full-width digits, Excel damage, invalid numbers) is cleaned
  by the pipeline's own `normalise_resident_id`, so repairs and refusals stay exactly the
  pipeline's. The subkey is checked against `Pseudonymiser` on canary values at start-up: if
  the two ever differ, every look-up takes the pipeline's path (logged), never a wrong key.
- `ResidentDocuments.text`: the current generation and the document in one statement (one
  snapshot, one round trip) returning the JSON text as published, so that a caller who may
  see all of it gets it without a parse and a re-serialisation.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import re
import sqlite3
import threading
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, bindparam, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from desensitize.pseudonym import DOMAIN_PREFIX, PSEUDONYM_HEX_CHARS, Pseudonymiser
from hub.views.publish import CURRENT
from hub.views.read import RESIDENT_ID_DOMAIN, resident_key_for_id_number
from hub.views.store import view_residents, view_state
from schemas.identity import normalise_resident_id

log = logging.getLogger("hub.api")

_CANONICAL = re.compile(r"[0-9]{17}[0-9X]")  # ASCII only: full-width digits take the slow path
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_CANARIES = ("110105194102031234", "440304200001010001", "")


def canonical_valid_id(text: str, today: date) -> bool:
    """True for an 18-character ID the pipeline would keep exactly as written."""
    if len(text) != 18 or _CANONICAL.fullmatch(text) is None:
        return False
    total = sum(int(ch) * w for ch, w in zip(text, _WEIGHTS, strict=False))
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
        if canonical_valid_id(raw_id, today):
            return self._hmac(raw_id)
        # Repairs and refusals exactly as the pipeline makes them (pandas: slow, but rare input).
        result = normalise_resident_id(pd.Series([raw_id], dtype="string"), today)
        value = result.values.iloc[0]
        if not bool(result.ok.iloc[0]) or value is pd.NA:
            return None
        return self._hmac(str(value))


_DOCUMENT = (select(view_residents.c.document)
             .select_from(view_state.join(view_residents, and_(
                 view_residents.c.generation == view_state.c.generation,
                 view_residents.c.resident_key == bindparam("key"))))
             .where(view_state.c.name == CURRENT))
_DOCUMENT_SQLITE = ("SELECT r.document FROM view_state AS s JOIN view_residents AS r "
                    "ON r.generation = s.generation AND r.resident_key = ? "
                    "WHERE s.name = ?")


class ResidentDocuments:
    """The published document of a resident key, as stored (JSON text), or None.

    On SQLite each thread reads through a connection of its own, kept open (the look-up
    routes run on the event loop, the console's pages in the thread pool): a pool check-out,
    its reset and, past the pool's size, a new connection with its pragmas cost more than the
    indexed read itself."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._local = threading.local()
        self._opened: list[tuple[int, Any]] = []  # (pid, pooled) of every reader, to close
        self._guard = threading.Lock()

    def _reader(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None or getattr(self._local, "pid", 0) != os.getpid():
            pooled = self.engine.raw_connection()  # the engine's pragmas (WAL, busy timeout)
            pooled.detach()
            dbapi = pooled.dbapi_connection
            if not isinstance(dbapi, sqlite3.Connection):
                raise TypeError("the state store's driver is not sqlite3")
            con = dbapi
            con.isolation_level = None  # each SELECT its own snapshot, no transaction held
            self._local.con, self._local.pid = con, os.getpid()
            with self._guard:
                self._opened.append((os.getpid(), pooled))
        return con

    def close(self) -> None:
        """Close every reader this process opened (at the app's shutdown)."""
        with self._guard:
            opened, self._opened = self._opened, []
        for pid, pooled in opened:
            if pid == os.getpid():
                with contextlib.suppress(Exception):
                    pooled.close()
        self._local = threading.local()

    def ping(self) -> None:
        """A `SELECT 1` on the state store; raises what the store raises."""
        if self._sqlite:
            self._reader().execute("SELECT 1").fetchall()
            return
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def text(self, resident_key: str) -> str | None:
        try:
            if self._sqlite:  # no statement compilation, no pool
                try:
                    # fetchall: the statement ends here, and its read snapshot with it
                    rows = self._reader().execute(_DOCUMENT_SQLITE,
                                                  (resident_key, CURRENT)).fetchall()
                except sqlite3.OperationalError as exc:
                    if "no such table" not in str(exc):
                        raise
                    return None  # nothing published yet
                return str(rows[0][0]) if rows else None
            with self.engine.connect() as conn:
                found = conn.execute(_DOCUMENT, {"key": resident_key}).scalar()
            return None if found is None else str(found)
        except (OperationalError, ProgrammingError):  # no view tables yet: nothing published
            return None
