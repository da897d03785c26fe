"""Token pepper and audit-signing key: their own files, 0600, loaded apart from the data keys,
refused when others can read them, damaged, placeholders or shared."""

from __future__ import annotations

import stat

import pytest

from desensitize.errors import KeyFileInsecure, KeyFileInvalid, KeysShareMaterial, KeyWeak
from desensitize.keys import AUDIT_SIGNING_KEY_FILE, PSEUDONYM_KEY_FILE, TOKEN_PEPPER_FILE
from hub.keys.config import load_keyring, load_security_keys
from hub.settings import HubSettings


def test_security_keys_are_private_separate_and_stable(settings: HubSettings) -> None:
    for name in (TOKEN_PEPPER_FILE, AUDIT_SIGNING_KEY_FILE):
        assert stat.S_IMODE((settings.keys_dir / name).stat().st_mode) == 0o600
    first = load_security_keys(settings)
    assert load_security_keys(settings) == first
    ring = load_keyring(settings)
    assert len({first.token_pepper, first.audit_signing_seed, ring.pseudonym_key}) == 3
    assert "hidden" in repr(first)
    assert first.token_pepper.hex() not in repr(first)


@pytest.mark.parametrize("name", [TOKEN_PEPPER_FILE, AUDIT_SIGNING_KEY_FILE])
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_readable_by_others_is_refused(settings: HubSettings, name: str, mode: int) -> None:
    (settings.keys_dir / name).chmod(mode)
    with pytest.raises(KeyFileInsecure) as info:
        load_security_keys(settings)
    assert f"chmod 600 {settings.keys_dir / name}" in str(info.value)


def test_damaged_key_is_refused_not_replaced(settings: HubSettings) -> None:
    path = settings.keys_dir / AUDIT_SIGNING_KEY_FILE
    path.write_text("zz" * 32 + "\n")
    with pytest.raises(KeyFileInvalid, match="audit signing"):
        load_security_keys(settings)
    assert path.read_text() == "zz" * 32 + "\n"


def test_a_placeholder_pepper_is_refused(settings: HubSettings) -> None:
    (settings.keys_dir / TOKEN_PEPPER_FILE).write_text("11" * 32 + "\n")
    with pytest.raises(KeyWeak, match="token pepper"):
        load_security_keys(settings)


def test_a_pepper_equal_to_the_pseudonym_key_is_refused(settings: HubSettings) -> None:
    pseudonym = (settings.keys_dir / PSEUDONYM_KEY_FILE).read_text()
    (settings.keys_dir / TOKEN_PEPPER_FILE).write_text(pseudonym)
    for load in (load_security_keys, load_keyring):
        with pytest.raises(KeysShareMaterial) as info:
            load(settings)
        assert pseudonym.strip() not in str(info.value)


def test_signing_key_signs_and_public_key_verifies(settings: HubSettings) -> None:
    keys = load_security_keys(settings)
    signature = keys.signing_key().sign(b"head")
    keys.public_key().verify(signature, b"head")  # raises if wrong
