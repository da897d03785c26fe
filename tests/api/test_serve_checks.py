"""`hub serve` refuses insecure, missing or placeholder secrets before serving anything (the
checks are the key loader's: tests/keys covers each of them in detail)."""

from __future__ import annotations

import os

import pytest

from desensitize.keys import PSEUDONYM_KEY_FILE, TOKEN_PEPPER_FILE
from hub.serve import ServeRefused, check_home
from hub.settings import HubSettings


def test_a_home_with_its_keys_passes(settings: HubSettings) -> None:
    check_home(settings)


def test_a_home_without_keys_is_refused_and_gets_none(bare_settings: HubSettings) -> None:
    with pytest.raises(ServeRefused, match="hub keys init"):
        check_home(bare_settings)
    assert not (bare_settings.keys_dir / PSEUDONYM_KEY_FILE).exists()


def test_keys_readable_by_others_are_refused(settings: HubSettings) -> None:
    os.chmod(settings.keys_dir, 0o755)
    with pytest.raises(ServeRefused, match="readable by group or others"):
        check_home(settings)


def test_data_without_its_keys_is_refused(bare_settings: HubSettings) -> None:
    bare_settings.ensure_dirs()
    bare_settings.warehouse_path.write_bytes(b"")  # a home that holds data
    with pytest.raises(ServeRefused, match="restore it from your key backup"):
        check_home(bare_settings)
    assert not bare_settings.keys_dir.exists()  # no new keys were made


def test_a_placeholder_key_is_refused(settings: HubSettings) -> None:
    path = settings.keys_dir / TOKEN_PEPPER_FILE
    path.write_text("00" * 32 + "\n")
    with pytest.raises(ServeRefused, match="placeholder"):
        check_home(settings)
