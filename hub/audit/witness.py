"""Checking the evidence log against a witness: checkpoint copies kept off the serving host.

A checkpoint is a signed (record count, chain head, time) triple, the hash-chain form of an
RFC 9162 signed tree head: `seq` is the number of records (seqs run 1..n without gaps) and
`hash` the hash of record n, which commits to every record before it. A witness folder holds
every checkpoint an auditor fetched (`hub audit fetch-checkpoints`). The log is checked
against all of them:

- each signature, with the public key only (the signing key never leaves the hub);
- consistency between checkpoints: two checkpoints of the same record count with different
  heads are a fork, and a checkpoint signed later than another but vouching for fewer records
  means the log was cut and re-signed (a later head must extend an earlier one);
- each checkpoint against the log: record n must exist with hash h (else truncated, or the
  chain was recomputed somewhere after the last checkpoint that still matches);
- records after a checkpoint must be younger than it: a forged record appended after the
  witnessed head but dated before the checkpoint was made was not there when it was signed.

Records after the newest checkpoint are unwitnessed: the result says how many.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from hub.audit.checkpoint import CHECKPOINT_GLOB, read_checkpoint, signature_valid
from hub.audit.errors import AuditUnavailable, CheckpointInvalid
from hub.audit.log import AuditLog
from hub.audit.schema import audit_events

PUBLIC_KEY_FILE = "public-key.txt"
# A record committed just after a checkpoint read the head may carry a time a little before
# the checkpoint's own; anything earlier than this was not appended after the checkpoint.
CLOCK_SLACK = timedelta(seconds=2)


@dataclass(frozen=True)
class WitnessResult:
    ok: bool
    checkpoints: int  # how many checkpoints were checked
    witnessed_seq: int  # the newest record some checkpoint vouches for (0: none)
    unwitnessed: int  # records after it, which no checkpoint covers yet
    first_bad_seq: int | None
    problem: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checkpoints": self.checkpoints,
                "witnessed_seq": self.witnessed_seq, "unwitnessed": self.unwitnessed,
                "first_bad_seq": self.first_bad_seq, "problem": self.problem}


@dataclass(frozen=True)
class _Checkpoint:
    name: str
    seq: int
    hash: str
    at: str


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_public_key(folder: Path) -> str | None:
    path = Path(folder) / PUBLIC_KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeError):
        return None


def load_checkpoints(folder: Path, public_key: str) -> tuple[list[_Checkpoint], str | None]:
    """Every checkpoint file of `folder` with a valid signature, and the first problem found
    (a file that does not read or whose signature does not match)."""
    found: list[_Checkpoint] = []
    for path in sorted(Path(folder).glob(CHECKPOINT_GLOB)):
        try:
            doc = read_checkpoint(path)
        except CheckpointInvalid as exc:
            return found, f"checkpoint {path.name} {exc.problem}"
        if not signature_valid(doc, public_key):
            return found, (f"checkpoint {path.name}: signature does not match the public key: "
                           "the file was altered or forged")
        found.append(_Checkpoint(path.name, int(doc["seq"]), str(doc["hash"]), str(doc["at"])))
    return found, None


def _consistency(points: list[_Checkpoint]) -> tuple[int | None, str] | None:
    """The first inconsistency between checkpoints: (first bad seq, problem)."""
    by_seq: dict[int, _Checkpoint] = {}
    for point in points:
        other = by_seq.setdefault(point.seq, point)
        if other.hash != point.hash:
            return point.seq, (f"checkpoints {other.name} and {point.name} vouch for different "
                               f"heads at record {point.seq}: the log was forked or rewritten")
    newest: _Checkpoint | None = None
    for point in sorted(points, key=lambda p: (_time(p.at), p.seq)):
        if newest is not None and point.seq < newest.seq:
            return point.seq + 1, (
                f"checkpoint {point.name} was signed after {newest.name} but vouches for "
                f"{point.seq} records instead of {newest.seq}: records {point.seq + 1}-"
                f"{newest.seq} were removed and the log re-signed")
        newest = point if newest is None or point.seq >= newest.seq else newest
    return None


def verify_witness(log: AuditLog, folder: Path, public_key: str) -> WitnessResult:
    """Check the log against every checkpoint in `folder` (see the module docstring)."""
    points, problem = load_checkpoints(folder, public_key)
    if problem is not None:
        return WitnessResult(False, len(points), 0, 0, None, problem)
    head, _ = log.head()
    if not points:
        return WitnessResult(True, 0, 0, head, None, None)

    def failed(seq: int | None, text: str) -> WitnessResult:
        return WitnessResult(False, len(points), 0, 0, seq, text)

    inconsistent = _consistency(points)
    if inconsistent is not None:
        return failed(*inconsistent)
    matched = 0
    for point in sorted(points, key=lambda p: p.seq):
        if point.seq == 0 or point.seq == matched:
            continue
        current = log.hash_of(point.seq)
        if current is None:
            return failed(head + 1, f"checkpoint {point.name} vouches for record {point.seq} "
                          f"but the log ends at record {head}: records {head + 1}-{point.seq} "
                          "were removed")
        if current != point.hash:
            return failed(matched + 1, (
                f"record {point.seq} differs from checkpoint {point.name}: the log was "
                f"rewritten in records {matched + 1}-{point.seq} (record {matched} still "
                "matches its checkpoint)" if matched else
                f"record {point.seq} differs from checkpoint {point.name}: the log was "
                f"rewritten in records 1-{point.seq}"))
        matched = point.seq
    backdated = _backdated(log, points)
    if backdated is not None:
        return failed(*backdated)
    return WitnessResult(True, len(points), matched, max(head - matched, 0), None, None)


def _backdated(log: AuditLog, points: list[_Checkpoint]) -> tuple[int, str] | None:
    """The first record placed after a checkpoint but dated before that checkpoint."""
    t = audit_events
    worst: tuple[int, str] | None = None
    try:
        with log.engine.connect() as conn:
            for point in sorted(points, key=lambda p: -p.seq):  # name the newest
                limit = (_time(point.at) - CLOCK_SLACK).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                row = conn.execute(select(t.c.seq).where(t.c.seq > point.seq, t.c.at < limit)
                                   .order_by(t.c.seq).limit(1)).first()
                if row is not None and (worst is None or int(row[0]) < worst[0]):
                    worst = (int(row[0]), (
                        f"record {int(row[0])} comes after checkpoint {point.name} (record "
                        f"{point.seq}) but is dated before it was signed: appended later and "
                        "backdated"))
    except SQLAlchemyError as exc:
        raise AuditUnavailable(repr(log), exc.__class__.__name__) from exc
    return worst


def witness_document(doc: dict[str, Any]) -> str:
    """The text a witness stores for a fetched checkpoint (the fields that are signed)."""
    keep = {k: doc[k] for k in ("format", "seq", "hash", "at", "signature", "public_key")
            if k in doc}
    return json.dumps(keep, indent=2) + "\n"
