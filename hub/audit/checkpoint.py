"""Signed checkpoints of the evidence log's head, so that cutting off its tail shows.

A hash chain proves every record up to the last one, but not that the last one is the last:
whoever can write the state store can delete the newest records (or rewrite the whole chain
from some point on) and leave a valid shorter chain. A checkpoint is the head (seq, hash)
signed with the audit-signing key (Ed25519, a key file outside both databases; verifying
needs only the public key); as long as a copy of the file survives, `verify_checkpoint` shows
whether the log still holds that record with that hash. `hub serve` writes them often
(hub.audit.publisher); auditors keep copies where the state store's administrators cannot
write (hub.audit.witness).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hub.audit.errors import CheckpointInvalid
from hub.audit.log import AuditLog, VerifyResult

FORMAT = "hub-audit-checkpoint/1"
CHECKPOINT_GLOB = "checkpoint-*.json"


def _signed_bytes(fmt: str, seq: int, head_hash: str, at: str) -> bytes:
    return json.dumps({"format": fmt, "seq": seq, "hash": head_hash, "at": at},
                      sort_keys=True, separators=(",", ":")).encode("utf-8")


def public_key_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _private(key: Ed25519PrivateKey | bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(key) if isinstance(key, bytes) else key


def _public(key: Ed25519PublicKey | bytes | str) -> Ed25519PublicKey:
    if isinstance(key, str):
        key = bytes.fromhex(key)
    return Ed25519PublicKey.from_public_bytes(key) if isinstance(key, bytes) else key


def write_checkpoint(log: AuditLog, signing_key: Ed25519PrivateKey | bytes,
                     path: Path) -> dict[str, Any]:
    """Sign the current head and write it to `path` atomically; returns the document."""
    key = _private(signing_key)
    seq, head_hash = log.head()
    at = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    doc = {
        "format": FORMAT, "seq": seq, "hash": head_hash, "at": at,
        "signature": key.sign(_signed_bytes(FORMAT, seq, head_hash, at)).hex(),
        # informational: verify with a public key kept elsewhere, not with this copy
        "public_key": public_key_hex(key.public_key()),
    }
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise CheckpointInvalid(str(path), f"cannot be written ({exc.__class__.__name__})") \
            from exc
    return doc


def read_checkpoint(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointInvalid(str(path), f"cannot be read ({exc.__class__.__name__})") \
            from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointInvalid(str(path), f"is not a {FORMAT} file")
    ok = (isinstance(doc.get("seq"), int) and isinstance(doc.get("hash"), str)
          and isinstance(doc.get("at"), str) and isinstance(doc.get("signature"), str))
    if not ok:
        raise CheckpointInvalid(str(path), "lacks seq, hash, at or signature")
    return doc


def signature_valid(doc: dict[str, Any], public_key: Ed25519PublicKey | bytes | str) -> bool:
    """Does the checkpoint's signature match its fields under `public_key`?"""
    try:
        signature = bytes.fromhex(doc["signature"])
        _public(public_key).verify(signature, _signed_bytes(FORMAT, doc["seq"], doc["hash"],
                                                            doc["at"]))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def verify_checkpoint(log: AuditLog, public_key: Ed25519PublicKey | bytes | str,
                      path: Path) -> VerifyResult:
    """Does the log still hold the checkpointed record with the checkpointed hash?

    Checks the signature and that one record only; run `log.verify()` for the chain itself.
    `checked` is the number of records the checkpoint vouches for."""
    doc = read_checkpoint(path)
    seq, head_hash = doc["seq"], doc["hash"]
    if not signature_valid(doc, public_key):
        return VerifyResult(False, 0, None, f"checkpoint {Path(path).name}: signature does not "
                            "match the audit-signing key: the file was altered or forged")
    if seq == 0:
        return VerifyResult(True, 0, None, None)
    current = log.hash_of(seq)
    if current is None:
        last, _ = log.head()
        return VerifyResult(False, 0, min(seq, last + 1),
                            f"checkpoint {Path(path).name} vouches for record {seq} but the "
                            f"log ends at record {last}: records were removed (truncated)")
    if current != head_hash:
        return VerifyResult(False, 0, seq, f"record {seq} differs from checkpoint "
                            f"{Path(path).name}: the log was rewritten at or before it")
    return VerifyResult(True, seq, None, None)


def checkpoint_name(seq: int, at: str) -> str:
    """`checkpoint-<seq>-<time>.json`: names sort by record count, then time."""
    stamp = "".join(c for c in at if c.isdigit() or c in "TZ")
    return f"checkpoint-{seq:012d}-{stamp}.json"


def latest_checkpoint(folder: Path) -> Path | None:
    """The checkpoint file with the highest seq in `folder` (newest name wins ties)."""
    best: tuple[int, str] | None = None
    found: Path | None = None
    for path in Path(folder).glob(CHECKPOINT_GLOB):
        try:
            seq = read_checkpoint(path)["seq"]
        except CheckpointInvalid:
            seq = -1  # a damaged file still counts: verifying it will say what is wrong
        if best is None or (seq, path.name) > best:
            best, found = (seq, path.name), path
    return found
