"""Helpers for the demo tests: an independent GB 11643 check and what a clerk would do to an ID."""

from __future__ import annotations

import unicodedata
from datetime import date

TODAY = date(2026, 11, 20)
RESIDENTS = 2_000
SEED = 3
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def check_char(first17: str) -> str:
    """GB 11643 check character, computed here independently of the generator."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalise_id(raw: str) -> str:
    """What a clerk would do: full-width to ASCII, drop spaces, upper-case; 15 -> 18 digits."""
    text = unicodedata.normalize("NFKC", raw).replace(" ", "").upper()
    if len(text) == 15:
        first17 = text[:6] + "19" + text[6:]
        return first17 + check_char(first17)
    if len(text) == 17:  # Excel dropped the trailing X
        return text + check_char(text)
    return text


def valid_id(text: str) -> bool:
    return (len(text) == 18 and text[:17].isascii() and text[:17].isdigit()
            and check_char(text[:17]) == text[17])
