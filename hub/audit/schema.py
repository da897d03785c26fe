"""The evidence log's record format: the hashed text is what is stored (hub.state.audit_table).

A record is one line of canonical JSON, the array of HASHED_FIELDS values (compact separators,
UTF-8, prev_hash last), stored as it was hashed in the `body` column; `hash` is SHA-256 of
those bytes. The readable columns (at, actor, resident_key, ...) are VIRTUAL generated columns
read out of `body`: there is no second copy that could be edited apart from what was hashed,
and verification reads two columns per record instead of thirteen (fetching thirteen would
by itself exceed the verify budget of B5 in docs/benchmarks.md).
Anyone can check a record with standard tools: sha256 of the body text equals `hash`, and the
body's last element equals the `hash` of the record before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from hub.state.audit_table import HASHED_FIELDS, audit_events

GENESIS_HASH = "0" * 64
__all__ = ["COLUMNS", "GENESIS_HASH", "HASHED_FIELDS", "audit_events", "canonical_json",
           "decode_record", "encode_body", "encode_list", "encode_record", "record_hash"]
COLUMNS = (*HASHED_FIELDS, "hash")
# The C encoder; tuples encode as JSON arrays. Control characters are always escaped, so a
# body never holds a raw newline.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_sha256 = hashlib.sha256


# JSONEncoder.encode builds this C encoder anew on every call, which costs more than the
# encoding of a record; built once here, with the encoder's own arguments, it writes the same
# bytes (a test pins the equality).
_c_encoder = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, json.JSONEncoder().default, json.encoder.encode_basestring, None, ":", ",", False,
    False, True) if json.encoder.c_make_encoder is not None else None  # type: ignore[attr-defined]


def canonical_json(value: Any) -> str:
    """`_dumps(value)`: compact separators, UTF-8 text, keys in the order given."""
    if _c_encoder is None:
        return _dumps(value)
    return "".join(_c_encoder(value, 0))


def encode_record(values: Sequence[Any]) -> str:
    """The stored and hashed text of a record: canonical JSON array in HASHED_FIELDS order."""
    return canonical_json(tuple(values))


# The quoting the C encoder itself applies to a string (the same function object it is built
# with above), so a record quoted field by field is the encoder's text (a test pins it).
_quote = json.encoder.encode_basestring


def encode_body(seq: int, at: str, fields: Sequence[Any], prev: str) -> str:
    """`encode_record((seq, at, *fields, prev))`, the same text. A record's fields are text
    or None: quoted one by one and joined, which skips the general encoder's work per call;
    anything else (a number, a list) goes through the encoder."""
    try:
        if type(seq) is int and fields:
            middle = ",".join([_quote(v) if v is not None else "null" for v in fields])
            return f"[{seq},{_quote(at)},{middle},{_quote(prev)}]"
    except TypeError:
        pass
    return encode_record((seq, at, *fields, prev))


def encode_list(items: Sequence[str]) -> str:
    """JSON text of a list of strings, as `_dumps(list(items))`."""
    return canonical_json(list(items))


def record_hash(values: Sequence[Any]) -> str:
    """SHA-256 (hex) of the canonical JSON array of `values` in HASHED_FIELDS order."""
    return _sha256(encode_record(values).encode("utf-8")).hexdigest()


INSERT_SQL = "INSERT INTO audit_events (seq, body, hash) VALUES (?, ?, ?)"
HEAD_SQL = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"


def decode_record(seq: int, body: str, stored_hash: str) -> dict[str, Any]:
    """A stored record as the API shows it (`scope` as a list); `seq` is the stored number."""
    try:
        values = json.loads(body)
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != len(HASHED_FIELDS):
        # Shown as stored, not hidden: `hub audit verify` names what is wrong with it.
        return {"seq": seq, "body": body, "hash": stored_hash, "problem": "unreadable record"}
    item = dict(zip(HASHED_FIELDS, values, strict=True))
    item["seq"], item["hash"] = seq, stored_hash
    with contextlib.suppress(TypeError, ValueError):  # shown as stored: verify reports it
        item["scope"] = json.loads(item["scope"])
    return item
