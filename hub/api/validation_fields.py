"""The field a validation error names, without anything the caller chose.

An unknown field's name is the caller's own text (it could be an ID number typed as a
key), so an `extra_forbidden` error names it as `*`: the rule says what is wrong."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CALLER_KEYS = frozenset({"extra_forbidden"})


def error_field(error: Mapping[str, Any], prefix: Sequence[str] = ()) -> str:
    loc = [*prefix, *(str(p) for p in error.get("loc", ()))]
    if str(error.get("type", "")) in CALLER_KEYS and len(loc) > len(prefix):
        loc[-1] = "*"
    return ".".join(loc)
