"""Token pepper and audit-signing key: separate files, 0600, refused when others can read."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from desensitize.errors import KeyFileInsecure, KeyFileInvalid
from desensitize.keys import (
    AUDIT_SIGNING_KEY_FILE,
    TOKEN_PEPPER_FILE,
    KeyRing,
    SecurityKeys,
)


def test_keys_are_created_once_with_owner_only_access(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    first = SecurityKeys.load_or_create(keys_dir)
    for name in (TOKEN_PEPPER_FILE, AUDIT_SIGNING_KEY_FILE):
        assert stat.S_IMODE((keys_dir / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    again = SecurityKeys.load_or_create(keys_dir)
    assert again == first
    assert first.token_pepper != first.audit_signing_seed
    assert len(first.token_pepper) == 32
    assert "hidden" in repr(first)
    assert first.token_pepper.hex() not in repr(first)


def test_security_keys_are_separate_from_data_keys(tmp_path: Path) -> None:
    security = SecurityKeys.load_or_create(tmp_path)
    ring = KeyRing.load_or_create(tmp_path)
    secrets_ = {security.token_pepper, security.audit_signing_seed, ring.pseudonym_key}
    assert len(secrets_) == 3
    assert len(list(tmp_path.glob("*.key"))) == 4


@pytest.mark.parametrize("name", [TOKEN_PEPPER_FILE, AUDIT_SIGNING_KEY_FILE])
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_readable_by_others_is_refused(tmp_path: Path, name: str, mode: int) -> None:
    SecurityKeys.load_or_create(tmp_path)
    (tmp_path / name).chmod(mode)
    with pytest.raises(KeyFileInsecure) as info:
        SecurityKeys.load_or_create(tmp_path)
    assert f"chmod 600 {tmp_path / name}" in str(info.value)


def test_damaged_key_is_refused_not_replaced(tmp_path: Path) -> None:
    SecurityKeys.load_or_create(tmp_path)
    path = tmp_path / AUDIT_SIGNING_KEY_FILE
    path.write_text("zz" * 32 + "\n")
    with pytest.raises(KeyFileInvalid):
        SecurityKeys.load_or_create(tmp_path)
    assert path.read_text() == "zz" * 32 + "\n"


def test_signing_key_signs_and_public_key_verifies(tmp_path: Path) -> None:
    keys = SecurityKeys.load_or_create(tmp_path)
    signature = keys.signing_key().sign(b"head")
    keys.public_key().verify(signature, b"head")  # raises if wrong
