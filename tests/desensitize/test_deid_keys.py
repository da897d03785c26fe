"""Key files and key material: created private, refused when exposed, damaged or a placeholder,
never echoed. (Where keys come from and who may create them: tests/keys.)"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from desensitize.errors import (
    KeyFileInsecure,
    KeyFileInvalid,
    KeyFolderInsecure,
    KeyInvalid,
    KeyLengthInvalid,
)
from desensitize.keycheck import fingerprint, key_weakness, shared_material
from desensitize.keys import (
    PSEUDONYM,
    VAULT,
    KeyRing,
    check_key_folder,
    create_key_file,
    decode_hex_key,
    ensure_key_folder,
    read_key_file,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask() -> Iterator[None]:
    old = os.umask(0)  # the worst case: nothing filtered out of requested modes
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    ensure_key_folder(folder)
    return folder


@pytest.mark.usefixtures("lax_umask")
def test_new_key_files_are_private_and_random(tmp_path: Path) -> None:
    folder = tmp_path / "secrets" / "keys"
    ensure_key_folder(folder)
    assert create_key_file(folder / "a.key", 32)
    assert create_key_file(folder / "b.key", 64)
    assert _mode(folder) == 0o700
    assert _mode(folder / "a.key") == 0o600
    a, b = read_key_file(folder / "a.key", PSEUDONYM), read_key_file(folder / "b.key", VAULT)
    assert len(a) == 32
    assert len(b) == 64
    assert key_weakness(a) is None
    assert key_weakness(b) is None
    assert sorted(p.name for p in folder.iterdir()) == ["a.key", "b.key"]  # no temp left


def test_an_existing_key_is_never_replaced(keys_dir: Path) -> None:
    path = keys_dir / "pseudonym.key"
    create_key_file(path, 32)
    before = path.read_bytes()
    assert not create_key_file(path, 32)
    assert path.read_bytes() == before


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_key_file_open_to_others_is_refused(keys_dir: Path, mode: int) -> None:
    path = keys_dir / "pseudonym.key"
    create_key_file(path, 32)
    hex_key = path.read_text().strip()
    path.chmod(mode)
    with pytest.raises(KeyFileInsecure) as info:
        read_key_file(path, PSEUDONYM)
    message = str(info.value)
    assert f"chmod 600 {path}" in message
    assert hex_key not in message
    assert info.value.path == str(path)


def test_a_symlinked_key_file_is_refused(keys_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.key"
    create_key_file(elsewhere, 32)
    (keys_dir / "pseudonym.key").symlink_to(elsewhere)
    with pytest.raises(KeyFileInsecure, match="symbolic link"):
        read_key_file(keys_dir / "pseudonym.key", PSEUDONYM)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_a_key_file_of_another_user_is_refused(keys_dir: Path) -> None:
    path = keys_dir / "pseudonym.key"
    create_key_file(path, 32)
    os.chown(path, 12345, -1)
    with pytest.raises(KeyFileInsecure, match="belongs to uid 12345"):
        read_key_file(path, PSEUDONYM)


@pytest.mark.parametrize("mode", [0o750, 0o705, 0o755])
def test_keys_folder_open_to_others_is_refused(keys_dir: Path, mode: int) -> None:
    keys_dir.chmod(mode)
    with pytest.raises(KeyFolderInsecure, match=f"chmod 700 {keys_dir}"):
        check_key_folder(keys_dir, private=True)
    with pytest.raises(KeyFolderInsecure):
        ensure_key_folder(keys_dir)  # an existing folder is checked, not silently fixed
    assert _mode(keys_dir) == mode


def test_keys_folder_that_is_a_file_or_a_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(KeyFolderInsecure, match="not a folder"):
        check_key_folder(tmp_path / "file", private=True)
    real = tmp_path / "real"
    ensure_key_folder(real)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(KeyFolderInsecure, match="symbolic link"):
        check_key_folder(tmp_path / "link", private=True)


@pytest.mark.parametrize(("content", "problem"),
                         [("ab" * 31 + "\n", "found 62"), ("ab" * 33, "found 66"), ("", "found 0")])
def test_key_of_wrong_length_is_refused(keys_dir: Path, content: str, problem: str) -> None:
    path = keys_dir / "pseudonym.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileInvalid, match=problem) as info:
        read_key_file(path, PSEUDONYM)
    assert str(path) in str(info.value)


def test_key_that_is_not_hex_is_refused_without_quoting_it() -> None:
    with pytest.raises(KeyInvalid) as info:
        decode_hex_key("zq" * 64, VAULT, "environment variable X")
    assert "zq" not in str(info.value)
    assert "environment variable X" in str(info.value)


def test_binary_garbage_is_refused(keys_dir: Path) -> None:
    path = keys_dir / "vault.key"
    path.write_bytes(os.urandom(64) + b"\xff")
    path.chmod(0o600)
    with pytest.raises(KeyFileInvalid):
        read_key_file(path, VAULT)


@pytest.mark.parametrize(("data", "reason"), [
    (bytes(32), "zero"),
    (b"\xab" * 32, "repeated"),
    (bytes.fromhex("deadbeef") * 8, "pattern"),
    (bytes(range(32)), "counting"),
    (bytes(range(64, 128)), "counting"),
    (b"correct horse battery staple 123", "printable text"),
    (bytes([1, 2, 3, 4, 5, 6, 7]) * 4 + b"\x01\x03\x02\x05", "distinct"),
    (bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
     "published"),  # RFC 8032 TEST 1
    (secrets.token_bytes(32) + bytes(32), "second half"),
], ids=["zero", "repeated", "pattern", "counting", "counting from 64", "printable text",
        "distinct", "published", "second half"])  # random bytes: ids stable across processes
def test_placeholder_keys_are_recognised(data: bytes, reason: str) -> None:
    found = key_weakness(data)
    assert found is not None
    assert reason in found


def test_generated_keys_are_not_placeholders() -> None:
    for _ in range(200):
        assert key_weakness(secrets.token_bytes(32)) is None
        assert key_weakness(secrets.token_bytes(64)) is None


def test_shared_material_is_found_at_any_offset() -> None:
    a, b, c = (secrets.token_bytes(32) for _ in range(3))
    assert shared_material({"a": a, "b": b, "c": c}) == []
    assert shared_material({"a": a, "v": b[5:] + a[:20] + c[:17]}) == [("a", "v")]
    assert shared_material({"a": a, "b": a}) == [("a", "b")]


def test_fingerprint_is_short_stable_and_not_the_key() -> None:
    key = secrets.token_bytes(32)
    assert fingerprint(key) == fingerprint(key)
    assert len(fingerprint(key)) == 8
    assert fingerprint(key) not in key.hex()
    assert fingerprint(key) != fingerprint(secrets.token_bytes(32))


def test_repr_and_str_hide_key_material() -> None:
    ring = KeyRing(pseudonym_key=secrets.token_bytes(32), vault_key=secrets.token_bytes(64))
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
