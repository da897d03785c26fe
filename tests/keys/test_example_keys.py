"""No key copied from the project's docs or examples can protect real data."""

from __future__ import annotations

import re
from pathlib import Path

from desensitize.keycheck import DENIED_DIGESTS, key_weakness
from tests.desensitize.test_deid_vault import A1_KEY, A2_KEY

ROOT = Path(__file__).resolve().parents[2]
KEY_SIZED_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{128}|[0-9A-Fa-f]{64})(?![0-9A-Fa-f])")


def _documents() -> list[Path]:
    found = [ROOT / "README.md"]
    for folder in ("docs", "docker"):
        found += [p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in
                  {".md", ".yaml", ".yml", ".env", ".example", ".txt", ""}]
    return [p for p in found if p.exists() and "secrets" not in p.parts]


def test_every_key_sized_hex_string_in_docs_and_docker_is_refused() -> None:
    for path in _documents():
        for match in KEY_SIZED_HEX.finditer(path.read_text(encoding="utf-8", errors="ignore")):
            assert key_weakness(bytes.fromhex(match.group())) is not None, (
                f"{path.relative_to(ROOT)} shows a key-sized hex string the hub would accept "
                "as a key: add its digest (desensitize.keycheck.key_digest) to DENIED_DIGESTS")


def test_published_test_vectors_used_in_this_project_are_refused() -> None:
    for key in (A1_KEY, A2_KEY, A1_KEY + A2_KEY):
        assert key_weakness(key) is not None
    assert all(len(d) == 64 and int(d, 16) >= 0 for d in DENIED_DIGESTS)
