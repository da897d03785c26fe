"""Recomputing the evidence log's chain: a fast pass that says "intact" or "look from here",
and a precise pass that names the first bad record and what happened to it.

Fast pass (SQLite): the seq range 1..max is cut into slices of SLICE records, one contiguous
part per process (fork; the parts are independent because each starts from the stored hash of
the record before it, which the part before verifies). A slice holds exactly its seqs, every
body hashes to its stored hash and ends with the stored hash of the record before. Per record
that is one fetch, one SHA-256 and two string compares: Python's sqlite3 row fetch and
hashlib's per-call cost are the floor of one process, hence several processes.

Precise pass: from the first slice the fast pass rejected (or from the start), record by
record, bytes as stored (a tampered value need not even be valid UTF-8).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from hub.audit.schema import GENESIS_HASH, HASHED_FIELDS

SLICE = 20_000
PARALLEL_MIN = 200_000  # below this, starting a process costs more than it saves
MAX_WORKERS = 4
_FAST_SQL = "SELECT body, hash FROM audit_events WHERE seq BETWEEN ? AND ? ORDER BY seq"
_HASH_SQL = "SELECT CAST(hash AS BLOB) FROM audit_events WHERE seq = ?"
PRECISE_SQL = ("SELECT seq, CAST(body AS BLOB), CAST(hash AS BLOB) FROM audit_events "
               "WHERE seq >= ? ORDER BY seq")
_sha256 = hashlib.sha256


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def stored_hash(con: sqlite3.Connection, seq: int) -> str:
    """The stored hash of record `seq` (the genesis value before record 1)."""
    if seq < 1:
        return GENESIS_HASH
    row = con.execute(_HASH_SQL, (seq,)).fetchone()
    return (_text(row[0]) or "") if row else ""


def scan_part(connect: Callable[[], sqlite3.Connection], lo: int, hi: int) -> int | None:
    """Fast pass over seqs lo..hi: None if intact, else the first seq of the first slice
    that is not (the precise pass starts there)."""
    con = connect()
    try:
        con.execute("BEGIN")  # one read snapshot for the whole part
        prev = stored_hash(con, lo - 1)
        sha = _sha256
        for start in range(lo, hi + 1, SLICE):
            end = min(start + SLICE - 1, hi)
            try:
                rows = con.execute(_FAST_SQL, (start, end)).fetchall()
                if len(rows) != end - start + 1:  # a seq missing (integer keys are unique)
                    return start
                for body, stored in rows:  # hot loop: 1M iterations per verify
                    if sha(body.encode()).hexdigest() != stored or body[-66:-2] != prev:
                        return start
                    prev = stored
            except (sqlite3.DataError, sqlite3.OperationalError, AttributeError, TypeError,
                    UnicodeError):
                return start  # an odd value (not text, not UTF-8): the precise pass says
        return None
    finally:
        con.rollback()
        con.close()


def _parse(body: bytes | None) -> list[Any] | None:
    try:
        values = json.loads(body) if body is not None else None
    except ValueError:
        return None
    return values if isinstance(values, list) and len(values) == len(HASHED_FIELDS) else None


def check_rows(rows: Iterable[Sequence[Any]], expected: int = 1, prev: str = GENESIS_HASH,
               checked: int = 0) -> VerifyResult:
    """Precise pass over (seq, body, hash) rows in seq order, starting at record `expected`
    whose predecessor's hash is `prev`; `checked` records before it are already verified."""
    def bad(seq: int, problem: str) -> VerifyResult:
        return VerifyResult(False, checked, seq, problem)

    rows = iter(rows)
    for seq, raw_body, raw_hash in rows:
        body = raw_body.encode() if isinstance(raw_body, str) else raw_body
        stored = _text(raw_hash)
        good_hash = body is not None and _sha256(body).hexdigest() == stored
        values = _parse(body)
        own_seq = values[0] if values else None
        links = values is not None and values[-1] == prev
        if seq != expected:
            if seq < expected:
                return bad(seq, f"record {seq} precedes record {expected}: inserted")
            if own_seq == expected and good_hash:
                return bad(expected, f"record {expected} was renumbered to {seq}")
            if links and good_hash:
                return bad(seq, f"record {seq} follows record {expected - 1}: renumbered or "
                           "inserted")
            missing = f"{expected}" if seq == expected + 1 else f"{expected}-{seq - 1}"
            return bad(expected, f"record {missing} missing: removed")
        if not good_hash:
            return bad(seq, f"record {seq} altered or inserted: its content does not match "
                       "its hash")
        if not links:
            return _broken_link(rows, seq, stored or "", checked)
        if own_seq != seq:
            return bad(seq, f"record {seq} carries number {own_seq}: renumbered")
        prev, expected, checked = stored or "", expected + 1, checked + 1
    return VerifyResult(True, checked, None, None)


def _broken_link(rows: Iterator[Sequence[Any]], seq: int, stored: str, checked: int
                 ) -> VerifyResult:
    """Record `seq` hashes well but does not link to record seq-1, which hashed well too.

    Either seq-1 was rewritten with its own hash recomputed (then seq still links forward:
    the next record names seq's stored hash), or seq itself was rewritten (then the next
    record no longer links to it). Without a next record both remain possible."""
    if seq == 1:
        return VerifyResult(False, checked, 1, "record 1 does not start the chain: rewritten")
    after = next(rows, None)
    if after is not None:
        values = _parse(after[1].encode() if isinstance(after[1], str) else after[1])
        if values is None or values[-1] != stored:
            return VerifyResult(False, checked, seq, f"record {seq} was rewritten: it does "
                                f"not link to record {seq - 1} and record {seq + 1} does not "
                                "link to it")
    first = seq - 1
    either = "" if after is not None else f" (or record {seq} was rewritten to match)"
    return VerifyResult(False, max(first - 1, 0), first, f"record {first} was rewritten "
                        f"with its own hash recomputed: record {seq} holds a different hash "
                        f"for it{either}")


def precise(con: sqlite3.Connection, start: int) -> VerifyResult:
    """Precise pass from record `start` (records before it verified) to the end."""
    con.execute("BEGIN")
    try:
        prev = stored_hash(con, start - 1)
        cur = con.execute(PRECISE_SQL, (start if start > 1 else -(2**63),))
        with contextlib.closing(cur):
            rows = iter(lambda: cur.fetchmany(SLICE), [])
            return check_rows((r for batch in rows for r in batch), max(start, 1), prev,
                              max(start, 1) - 1)
    finally:
        con.rollback()


def _forkable() -> bool:
    # fork copies only the calling thread: safe in the CLI, not inside a threaded server.
    return hasattr(os, "fork") and threading.active_count() == 1


def worker_count(records: int, workers: int | None) -> int:
    if workers is None:
        if records < PARALLEL_MIN:
            return 1
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
            (os.cpu_count() or 1)
        workers = min(MAX_WORKERS, cpus)
    return max(1, min(workers, records // SLICE + 1)) if _forkable() else 1


def verify_sqlite(connect: Callable[[], sqlite3.Connection],
                  workers: int | None = None) -> VerifyResult:
    """Fast pass over every record (in `workers` processes), precise pass where it fails."""
    con = connect()
    try:
        count, low, high = con.execute(
            "SELECT count(*), min(seq), max(seq) FROM audit_events").fetchone()
        if not count:
            return VerifyResult(True, 0, None, None)
        if low < 1:
            return precise(con, 1)
        parts = worker_count(high, workers)
        bounds = [(1 + high * i // parts, high * (i + 1) // parts) for i in range(parts)]
        failed = _run_parts(connect, bounds)
        return precise(con, failed) if failed is not None else VerifyResult(
            True, high, None, None)
    finally:
        con.close()


def _run_parts(connect: Callable[[], sqlite3.Connection],
               bounds: list[tuple[int, int]]) -> int | None:
    if len(bounds) == 1:
        return scan_part(connect, *bounds[0])
    import gc
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    # the children never collect: a collection could finalise objects they inherited
    # (a database handle whose threads stayed in the parent) and crash the child
    with ProcessPoolExecutor(len(bounds) - 1, mp_context=context,
                             initializer=gc.disable) as pool:
        futures = [pool.submit(scan_part, connect, lo, hi) for lo, hi in bounds[1:]]
        first = scan_part(connect, *bounds[0])  # this process takes the first part
        others = [f.result() for f in futures]
    failed = [s for s in (first, *others) if s is not None]
    return min(failed) if failed else None
