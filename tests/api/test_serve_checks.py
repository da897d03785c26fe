"""`hub serve` refuses insecure, missing or placeholder secrets before serving anything."""

from __future__ import annotations

import os

import pytest

from desensitize.keys import PSEUDONYM_KEY_FILE, TOKEN_PEPPER_FILE, KeyRing
from hub.serve import ServeRefused, check_home
from hub.settings import HubSettings


def test_a_fresh_home_gets_its_keys(settings: HubSettings) -> None:
    settings.ensure_dirs()
    check_home(settings)
    assert (settings.keys_dir / PSEUDONYM_KEY_FILE).exists()
    assert (settings.keys_dir / TOKEN_PEPPER_FILE).exists()


def test_keys_readable_by_others_are_refused(settings: HubSettings) -> None:
    settings.ensure_dirs()
    check_home(settings)
    os.chmod(settings.keys_dir, 0o755)
    with pytest.raises(ServeRefused, match="readable by others"):
        check_home(settings)


def test_data_without_its_keys_is_refused(settings: HubSettings) -> None:
    settings.ensure_dirs()
    settings.warehouse_path.write_bytes(b"")  # a home that holds data
    with pytest.raises(ServeRefused, match=r"keys folder .* is missing"):
        check_home(settings)
    assert not settings.keys_dir.exists()  # no new keys were made


def test_a_placeholder_key_is_refused(settings: HubSettings) -> None:
    settings.ensure_dirs()
    KeyRing.load_or_create(settings.keys_dir)
    path = settings.keys_dir / TOKEN_PEPPER_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, ("00" * 32 + "\n").encode())
    os.close(fd)
    with pytest.raises(ServeRefused, match="placeholder"):
        check_home(settings)
