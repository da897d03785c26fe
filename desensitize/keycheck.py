"""Is a key a real secret? Placeholder detection, shared material and fingerprints.

A generated key is 32 or 64 random bytes. What gets pasted in its place instead is recognisable:
all zeros, one byte repeated, a short pattern repeated, 00 01 02 ... (the classic example key),
the hex of a passphrase, or a test vector copied from an RFC or from this project's own docs.
Each of these has a chance below 1e-13 of coming out of a random generator, so refusing them
never refuses a real key.

Fingerprints (`fingerprint`) let an administrator compare a key with its backup without showing
it: the first 8 hex of SHA-256 over a domain-separated derivation, so the value is useless for
anything but recognising the same key again.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping

_FINGERPRINT_DOMAIN = b"community-data-hub key fingerprint v1\x00"
_SHARED_WINDOW = 16  # bytes: two keys sharing any 16-byte run were not generated separately

# Digests (`key_digest`) of keys that are public and so must never protect real data. Add the
# digest of any example key you put in docs/ or docker/ (tests/keys checks that every key-sized
# hex string there is refused). Only digests here: the keys themselves stay out of the code.
DENIED_DIGESTS = frozenset({
    # RFC 8032 section 7.1 Ed25519 test secret keys: TEST 1, 2, 3, 1024, SHA(abc)
    "6e18a069435352b053a07892bbcbb8ae37643399406fee32abb113a4c548ef63",
    "346ea26f0b221cdf8dd48abc594ce82d5d23a82adace900939fd546345b7ff0b",
    "9375422ef4a18ae2b9b6a43faa1c9db581123a2e3b68b0b21c4fce0ddde2e453",
    "a888c663cb7c9ee9110fe989e4d070a179f2ddf3fa67d002f1d65b734a33404b",
    "53e78f48a9b02e34f4e95441c500a8e52e25c5ca2f7917889ba32299f13af6b1",
    # RFC 5297 appendix A.1 and A.2 AES-SIV keys (also in tests/desensitize/test_deid_vault.py)
    "ea49c10dd66910e0e299862387587457dbf25c7f2b37675879fc349f06019b8b",
    "c6529baa973efe1874f2b12c2ffe8376e0b9f640cf0cd5ecf843d2987c93fdcc",
})


def key_digest(data: bytes) -> str:
    """Full domain-separated SHA-256 of a key: what the deny-list and fingerprints are made of."""
    return hashlib.sha256(_FINGERPRINT_DOMAIN + data).hexdigest()


def fingerprint(data: bytes) -> str:
    """8 hex characters that recognise a key (e.g. against its backup) without revealing it."""
    return key_digest(data)[:8]


def key_weakness(data: bytes) -> str | None:
    """Why `data` is a placeholder rather than a generated key, or None when it looks random."""
    if not data:
        return "it is empty"
    if not any(data):
        return "every byte is zero"
    if len(set(data)) == 1:
        return "one byte repeated"
    for period in range(1, len(data) // 2 + 1):
        if len(data) % period == 0 and data == data[:period] * (len(data) // period):
            return f"a {period}-byte pattern repeated"
    steps = {(b - a) % 256 for a, b in itertools.pairwise(data)}
    if len(steps) == 1:
        return "a counting sequence (like 00 01 02 ...), the classic example key"
    if len(set(data)) < len(data) // 4:
        return f"only {len(set(data))} distinct byte values in {len(data)} bytes"
    if all(0x20 <= b <= 0x7E for b in data):
        return "it is the hex of printable text (a passphrase), not of random bytes"
    if key_digest(data) in DENIED_DIGESTS:
        return "it is a published example or test key"
    if len(data) == 64:  # AES-SIV uses each half as a key of its own
        for which, half in (("first", data[:32]), ("second", data[32:])):
            reason = key_weakness(half)
            if reason:
                return f"its {which} half is a placeholder ({reason})"
    return None


def shared_material(keys: Mapping[str, bytes]) -> list[tuple[str, str]]:
    """Pairs of key names whose material overlaps (any common run of 16 bytes, any offset).

    Catches one key reused for two purposes, and keys cut from one longer secret."""
    windows = {name: {data[i:i + _SHARED_WINDOW]
                      for i in range(max(1, len(data) - _SHARED_WINDOW + 1))}
               for name, data in keys.items()}
    names = list(keys)
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
            if windows[a] & windows[b]]
