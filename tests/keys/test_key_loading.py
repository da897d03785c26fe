"""The key loader (hub.keys.config): every refusal, file and environment references, and messages
that name the key, its source and the next step but never carry key material."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from desensitize.errors import (
    KeyFileInsecure,
    KeyFolderInsecure,
    KeyInvalid,
    KeyMissing,
    KeyProblem,
    KeyReferenceInvalid,
    KeysShareMaterial,
    KeyWeak,
)
from desensitize.keys import PSEUDONYM_KEY_FILE, TOKEN_PEPPER_FILE, VAULT_KEY_FILE
from hub.keys.config import init_keys, load_keyring, load_security_keys, verify_keys
from hub.settings import HubSettings
from tests.keys.keys_kit import assert_no_key_material, write_key


def _all_hex(settings: HubSettings) -> list[str]:
    return [p.read_text() for p in settings.keys_dir.glob("*.key")]


def _refused(settings: HubSettings, error: type[KeyProblem], match: str) -> str:
    with pytest.raises(error, match=match) as info:
        load_keyring(settings)
    message = str(info.value)
    assert_no_key_material(message, *_all_hex(settings))
    return message


def test_a_new_home_without_keys_is_told_to_run_init(bare_settings: HubSettings) -> None:
    for load in (load_keyring, load_security_keys):
        with pytest.raises(KeyMissing, match="hub keys init") as info:
            load(bare_settings)
        assert str(bare_settings.keys_dir) in str(info.value)
    assert not bare_settings.keys_dir.exists()  # loading never creates a key


def test_a_missing_key_under_data_is_told_to_restore(settings: HubSettings) -> None:
    settings.ensure_dirs()
    settings.warehouse_path.write_bytes(b"")  # the home holds data
    (settings.keys_dir / VAULT_KEY_FILE).unlink()
    message = _refused(settings, KeyMissing, "restore it from your key backup")
    assert str(settings.keys_dir / VAULT_KEY_FILE) in message
    assert "orphan" in message
    assert not (settings.keys_dir / VAULT_KEY_FILE).exists()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_key_file_others_can_read_is_refused(settings: HubSettings, mode: int) -> None:
    (settings.keys_dir / PSEUDONYM_KEY_FILE).chmod(mode)
    message = _refused(settings, KeyFileInsecure, "readable by group or others")
    assert f"chmod 600 {settings.keys_dir / PSEUDONYM_KEY_FILE}" in message


def test_a_keys_folder_the_group_can_read_is_refused(settings: HubSettings) -> None:
    settings.keys_dir.chmod(0o750)
    message = _refused(settings, KeyFolderInsecure, "readable by group or others")
    assert f"chmod 700 {settings.keys_dir}" in message
    with pytest.raises(KeyFolderInsecure):
        load_security_keys(settings)


@pytest.mark.parametrize("placeholder", ["00" * 32, "ab" * 32, bytes(range(32)).hex(),
                                         b"change-me-change-me-change-me-!!".hex()])
def test_a_placeholder_key_is_refused(settings: HubSettings, placeholder: str) -> None:
    write_key(settings.keys_dir / PSEUDONYM_KEY_FILE, placeholder)
    message = _refused(settings, KeyWeak, "placeholder")
    assert "pseudonym" in message
    assert "hub keys init" in message  # no data yet: replacing it is safe


def test_two_keys_sharing_material_are_refused(settings: HubSettings) -> None:
    pseudonym = (settings.keys_dir / PSEUDONYM_KEY_FILE).read_text().strip()
    write_key(settings.keys_dir / VAULT_KEY_FILE, pseudonym + secrets.token_hex(32))
    message = _refused(settings, KeysShareMaterial, "share key material")
    assert "pseudonym" in message
    assert "vault" in message


def test_a_data_key_shared_with_a_security_key_is_refused_by_both(
        settings: HubSettings) -> None:
    vault = (settings.keys_dir / VAULT_KEY_FILE).read_text().strip()
    write_key(settings.keys_dir / TOKEN_PEPPER_FILE, vault[64:])
    with pytest.raises(KeysShareMaterial):
        load_security_keys(settings)
    with pytest.raises(KeysShareMaterial):
        load_keyring(settings)


def test_a_key_from_an_environment_variable(settings: HubSettings,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    key = secrets.token_hex(32)
    monkeypatch.setenv("ORCHESTRATOR_PSEUDONYM_KEY", f"  {key}\n")
    referenced = settings.model_copy(
        update={"pseudonym_key_ref": "env:ORCHESTRATOR_PSEUDONYM_KEY"})
    (settings.keys_dir / PSEUDONYM_KEY_FILE).unlink()  # not needed any more
    assert load_keyring(referenced).pseudonym_key == bytes.fromhex(key)
    verify_keys(referenced)


def test_the_reference_is_read_from_the_hub_setting(
        bare_settings: HubSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_VAULT_KEY_REF", "env:SECRET_VAULT")
    monkeypatch.setenv("SECRET_VAULT", secrets.token_hex(64))
    settings = HubSettings(home=bare_settings.home)
    init_keys(settings)
    assert not (settings.keys_dir / VAULT_KEY_FILE).exists()
    assert load_keyring(settings).vault_key == bytes.fromhex(os.environ["SECRET_VAULT"])


@pytest.mark.parametrize(("value", "problem"), [
    ("zz" * 32, "other characters"),
    (secrets.token_hex(31), "found 62"),
    (secrets.token_hex(33), "found 66"),
    ("", "found 0"),
], ids=["other characters", "short", "long", "empty"])  # random keys: ids stable across processes
def test_a_bad_environment_key_is_refused_without_quoting_it(
        settings: HubSettings, monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("HUB_TEST_PEPPER", value)
    referenced = settings.model_copy(update={"token_pepper_ref": "env:HUB_TEST_PEPPER"})
    with pytest.raises(KeyInvalid, match=problem) as info:
        load_security_keys(referenced)
    assert "environment variable HUB_TEST_PEPPER from HUB_TOKEN_PEPPER_REF" in str(info.value)
    if value:
        assert_no_key_material(str(info.value), value)


def test_a_reference_to_a_missing_variable_is_refused(settings: HubSettings) -> None:
    referenced = settings.model_copy(update={"vault_key_ref": "env:NO_SUCH_VARIABLE_HERE"})
    with pytest.raises(KeyMissing, match="NO_SUCH_VARIABLE_HERE") as info:
        load_keyring(referenced)
    assert "secret store" in str(info.value)
    with pytest.raises(KeyMissing, match="cannot create keys held in variables"):
        init_keys(referenced)


@pytest.mark.parametrize(("ref", "problem"), [
    ("relative/pseudonym.key", "neither"),
    ("file:keys/pseudonym.key", "absolute path"),
    ("env:1BAD-NAME", "not a variable name"),
    ("vault:secret/hub", "neither"),
])
def test_a_malformed_reference_is_refused(settings: HubSettings, ref: str, problem: str) -> None:
    referenced = settings.model_copy(update={"pseudonym_key_ref": ref})
    with pytest.raises(KeyReferenceInvalid, match=problem) as info:
        load_keyring(referenced)
    assert "HUB_PSEUDONYM_KEY_REF" in str(info.value)


def test_a_key_pasted_into_a_reference_is_not_echoed(settings: HubSettings) -> None:
    key = secrets.token_hex(32)
    for ref in (key, f"env:{key}"):
        referenced = settings.model_copy(update={"pseudonym_key_ref": ref})
        with pytest.raises(KeyReferenceInvalid) as info:
            load_keyring(referenced)
        assert_no_key_material(str(info.value), key)


def test_a_key_from_a_referenced_file(settings: HubSettings, tmp_path: Path) -> None:
    secrets_dir = tmp_path / "run-secrets"
    secrets_dir.mkdir(mode=0o755)
    secrets_dir.chmod(0o755)  # like /run/secrets: others may list it, only files are private
    key = secrets.token_hex(64)
    write_key(secrets_dir / "hub_vault", key)
    referenced = settings.model_copy(update={"vault_key_ref": f"file:{secrets_dir}/hub_vault"})
    assert load_keyring(referenced).vault_key == bytes.fromhex(key)

    (secrets_dir / "hub_vault").chmod(0o644)
    with pytest.raises(KeyFileInsecure) as info:
        load_keyring(referenced)
    assert "HUB_VAULT_KEY_REF" in str(info.value)
    assert_no_key_material(str(info.value), key)

    (secrets_dir / "hub_vault").chmod(0o600)
    secrets_dir.chmod(0o777)  # anyone could swap the file
    with pytest.raises(KeyFolderInsecure, match="writable by group or others"):
        load_keyring(referenced)


def test_a_referenced_file_that_is_a_symlink_is_refused(settings: HubSettings,
                                                        tmp_path: Path) -> None:
    real = tmp_path / "real.key"
    write_key(real, secrets.token_hex(32))
    (tmp_path / "link.key").symlink_to(real)
    referenced = settings.model_copy(update={"token_pepper_ref": f"file:{tmp_path}/link.key"})
    with pytest.raises(KeyFileInsecure, match="symbolic link"):
        load_security_keys(referenced)


def test_a_missing_referenced_file_is_refused(settings: HubSettings, tmp_path: Path) -> None:
    referenced = settings.model_copy(
        update={"audit_signing_key_ref": f"file:{tmp_path}/absent/audit.key"})
    with pytest.raises(KeyMissing, match=f"{tmp_path}/absent/audit.key"):
        load_security_keys(referenced)
