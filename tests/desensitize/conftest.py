"""Fixtures shared by the desensitize tests: keys that never touch the disk."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from desensitize.deidentify import Deidentifier
from desensitize.keys import KeyRing


@pytest.fixture(scope="session")
def keyring() -> KeyRing:
    return KeyRing(pseudonym_key=secrets.token_bytes(32), vault_key=secrets.token_bytes(64))


@pytest.fixture(scope="module")
def deidentifier(keyring: KeyRing) -> Iterator[Deidentifier]:
    with Deidentifier(keyring) as deid:
        yield deid
