"""Key files: created private, refused when exposed or damaged, never echoed."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from desensitize.errors import KeyFileInsecure, KeyFileInvalid, KeyLengthInvalid
from desensitize.keys import PSEUDONYM_KEY_FILE, VAULT_KEY_FILE, KeyRing


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask() -> Iterator[None]:
    old = os.umask(0)  # the worst case: nothing filtered out of requested modes
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("lax_umask")
def test_first_run_creates_private_folder_and_key_files(tmp_path: Path) -> None:
    keys_dir = tmp_path / "secrets" / "keys"
    ring = KeyRing.load_or_create(keys_dir)
    assert _mode(keys_dir) == 0o700
    assert _mode(keys_dir / PSEUDONYM_KEY_FILE) == 0o600
    assert _mode(keys_dir / VAULT_KEY_FILE) == 0o600
    assert len(ring.pseudonym_key) == 32
    assert len(ring.vault_key) == 64
    assert ring.pseudonym_key != ring.vault_key[:32]
    assert sorted(p.name for p in keys_dir.iterdir()) == [PSEUDONYM_KEY_FILE, VAULT_KEY_FILE]


def test_keys_survive_a_restart(tmp_path: Path) -> None:
    first = KeyRing.load_or_create(tmp_path)
    again = KeyRing.load_or_create(tmp_path)
    assert first == again


def test_two_installations_get_different_keys(tmp_path: Path) -> None:
    assert KeyRing.load_or_create(tmp_path / "a") != KeyRing.load_or_create(tmp_path / "b")


def test_only_the_missing_key_is_created(tmp_path: Path) -> None:
    first = KeyRing.load_or_create(tmp_path)
    (tmp_path / VAULT_KEY_FILE).unlink()
    second = KeyRing.load_or_create(tmp_path)
    assert second.pseudonym_key == first.pseudonym_key
    assert second.vault_key != first.vault_key


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_key_file_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    ring = KeyRing.load_or_create(tmp_path)
    path = tmp_path / PSEUDONYM_KEY_FILE
    path.chmod(mode)
    with pytest.raises(KeyFileInsecure) as info:
        KeyRing.load_or_create(tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert f"chmod 600 {path}" in message
    assert ring.pseudonym_key.hex() not in message
    assert info.value.path == str(path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("ab" * 31 + "\n", "62"),  # one byte short
        ("ab" * 33 + "\n", "66"),
        ("", "0"),
    ],
)
def test_key_of_wrong_length_is_refused(tmp_path: Path, content: str, problem: str) -> None:
    KeyRing.load_or_create(tmp_path)
    path = tmp_path / PSEUDONYM_KEY_FILE
    path.write_text(content)
    with pytest.raises(KeyFileInvalid, match=problem) as info:
        KeyRing.load_or_create(tmp_path)
    assert str(path) in str(info.value)


def test_key_that_is_not_hex_is_refused_without_quoting_it(tmp_path: Path) -> None:
    KeyRing.load_or_create(tmp_path)
    path = tmp_path / VAULT_KEY_FILE
    secret = "zq" * 64
    path.write_text(secret)
    with pytest.raises(KeyFileInvalid) as info:
        KeyRing.load_or_create(tmp_path)
    assert str(path) in str(info.value)
    assert "zq" not in str(info.value).replace(str(path), "")


def test_binary_garbage_is_refused(tmp_path: Path) -> None:
    KeyRing.load_or_create(tmp_path)
    (tmp_path / VAULT_KEY_FILE).write_bytes(os.urandom(64))
    with pytest.raises(KeyFileInvalid):
        KeyRing.load_or_create(tmp_path)


def test_keys_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "keys"
    target.write_text("")
    with pytest.raises(KeyFileInvalid, match="not a folder"):
        KeyRing.load_or_create(target)


def test_repr_and_str_hide_key_material(tmp_path: Path) -> None:
    ring = KeyRing.load_or_create(tmp_path)
    for text in (repr(ring), str(ring), f"{ring}"):
        assert ring.pseudonym_key.hex() not in text
        assert ring.vault_key.hex() not in text
        assert repr(ring.pseudonym_key) not in text
        assert "hidden" in text


def test_keyring_refuses_wrong_lengths() -> None:
    with pytest.raises(KeyLengthInvalid, match="pseudonym"):
        KeyRing(pseudonym_key=b"\0" * 16, vault_key=b"\0" * 64)
    with pytest.raises(KeyLengthInvalid, match="vault"):
        KeyRing(pseudonym_key=b"\0" * 32, vault_key=b"\0" * 32)
