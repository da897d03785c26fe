"""Helpers of the key tests: write a key file, and prove a message carries no key material."""

from __future__ import annotations

import os
from pathlib import Path


def write_key(path: Path, hex_text: str, mode: int = 0o600) -> None:
    path.write_text(hex_text + "\n", encoding="ascii")
    os.chmod(path, mode)


def assert_no_key_material(message: str, *hex_keys: str) -> None:
    """Neither a key nor any 8-character slice of it appears in `message` (whitespace removed:
    a console may have wrapped a leaked key over two lines)."""
    text = "".join(message.split()).lower()
    for hex_key in hex_keys:
        hex_key = hex_key.strip().lower()
        assert hex_key not in text
        for i in range(len(hex_key) - 7):
            assert hex_key[i:i + 8] not in text, "a slice of a key leaked into a message"


def unwrapped(output: str) -> str:
    """Console output without the whitespace a narrow console put in long paths."""
    return "".join(output.split())
