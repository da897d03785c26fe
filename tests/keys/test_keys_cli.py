"""`hub keys init` (a new home only, idempotent) and `hub keys check` (exit codes, no key)."""

from __future__ import annotations

import json
import stat

from typer.testing import CliRunner

from desensitize.keycheck import fingerprint
from desensitize.keys import ALL_KEYS, PSEUDONYM_KEY_FILE, VAULT_KEY_FILE
from hub.cli.keys import keys_app
from hub.settings import HubSettings
from tests.keys.keys_kit import assert_no_key_material, unwrapped, write_key

runner = CliRunner()


def _keys(settings: HubSettings) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(settings.keys_dir.glob("*.key"))}


def test_init_creates_four_private_keys_then_nothing(bare_settings: HubSettings) -> None:
    made = runner.invoke(keys_app, ["init"])
    assert made.exit_code == 0, made.output
    keys = _keys(bare_settings)
    assert sorted(keys) == sorted(spec.file_name for spec in ALL_KEYS)
    assert stat.S_IMODE(bare_settings.keys_dir.stat().st_mode) == 0o700
    for name in keys:
        assert stat.S_IMODE((bare_settings.keys_dir / name).stat().st_mode) == 0o600
    assert "back them up" in made.output
    assert_no_key_material(made.output, *keys.values())

    again = runner.invoke(keys_app, ["init"])
    assert again.exit_code == 0, again.output
    assert "nothing created" in again.output
    assert _keys(bare_settings) == keys


def test_init_completes_a_new_home_without_touching_existing_keys(
        settings: HubSettings) -> None:
    before = _keys(settings)
    (settings.keys_dir / VAULT_KEY_FILE).unlink()
    made = runner.invoke(keys_app, ["init"])
    assert made.exit_code == 0, made.output
    assert "vault" in made.output
    assert "pseudonym" not in made.output
    after = _keys(settings)
    assert after[PSEUDONYM_KEY_FILE] == before[PSEUDONYM_KEY_FILE]
    assert after[VAULT_KEY_FILE] != before[VAULT_KEY_FILE]


def test_init_refuses_a_missing_key_on_a_home_with_data(settings: HubSettings) -> None:
    settings.ensure_dirs()
    (settings.state_dir / "state.sqlite").write_bytes(b"")  # the state store exists
    (settings.keys_dir / VAULT_KEY_FILE).unlink()
    refused = runner.invoke(keys_app, ["init"])
    assert refused.exit_code == 4
    assert "restore it from your key backup" in refused.output
    assert not (settings.keys_dir / VAULT_KEY_FILE).exists()


def test_init_checks_the_keys_it_finds(settings: HubSettings) -> None:
    write_key(settings.keys_dir / PSEUDONYM_KEY_FILE, "00" * 32)
    refused = runner.invoke(keys_app, ["init"])
    assert refused.exit_code == 4
    assert "placeholder" in refused.output


def test_check_shows_sources_and_fingerprints_never_keys(settings: HubSettings) -> None:
    keys = _keys(settings)
    shown = runner.invoke(keys_app, ["check"])
    assert shown.exit_code == 0, shown.output
    for hex_key in keys.values():
        assert fingerprint(bytes.fromhex(hex_key.strip())) in shown.output
    assert "0600 owner only" in shown.output
    assert_no_key_material(shown.output, *keys.values())

    as_json = runner.invoke(keys_app, ["check", "--json"])
    rows = {r["key"]: r for r in json.loads(as_json.stdout)}
    for spec in ALL_KEYS:
        assert rows[spec.name]["problem"] is None
        assert rows[spec.name]["source"] == f"file {settings.keys_dir / spec.file_name}"
        assert rows[spec.name]["fingerprint"] == fingerprint(
            bytes.fromhex(keys[spec.file_name].strip()))
    assert_no_key_material(as_json.stdout, *keys.values())


def test_check_fails_with_reasons(settings: HubSettings) -> None:
    keys = _keys(settings)
    (settings.keys_dir / VAULT_KEY_FILE).chmod(0o644)
    shown = runner.invoke(keys_app, ["check"])
    assert shown.exit_code == 1
    assert "0644 open to group/others" in shown.output
    assert unwrapped(f"chmod 600 {settings.keys_dir / VAULT_KEY_FILE}") in unwrapped(shown.output)
    assert_no_key_material(shown.output, *keys.values())


def test_check_on_a_home_without_keys_fails(bare_settings: HubSettings) -> None:
    shown = runner.invoke(keys_app, ["check", "--json"])
    assert shown.exit_code == 1
    rows = json.loads(shown.stdout)
    assert all("hub keys init" in r["problem"] for r in rows)
    assert all(r["permissions"] == "missing" for r in rows)
