"""The key files of a rotation: the new key is written first, beside the old one, as
`<name>.next` (0600); after the switch it replaces the old file with one atomic rename, which
is what drops the old key.

The warehouse records which keys a rotation was made with by their digest (a domain-separated
SHA-256 of a random key of 256 bits or more: it cannot be inverted or searched), so a resumed
rotation proves it holds the same keys before it touches anything. Reading and creating key
files goes through desensitize.keys, with the same checks as every other key load.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from desensitize.keycheck import fingerprint, key_digest
from desensitize.keys import (
    PSEUDONYM,
    VAULT,
    KeySpec,
    create_key_file,
    fsync_dir,
    read_key_file,
)
from hub.keys.config import key_source
from hub.keys.rotation_errors import RotationKeyMismatch, RotationKeyReference
from hub.settings import HubSettings

SPECS: dict[str, KeySpec] = {"vault": VAULT, "pseudonym": PSEUDONYM}

def digest(key: bytes) -> str:
    return key_digest(key)


def key_fingerprint(key: bytes) -> str:
    """The short fingerprint `hub keys check` shows, for the admin to match."""
    return fingerprint(key)


def key_path(settings: HubSettings, kind: str) -> Path:
    return settings.keys_dir / SPECS[kind].file_name


def next_path(settings: HubSettings, kind: str) -> Path:
    path = key_path(settings, kind)
    return path.with_name(path.name + ".next")


def refuse_reference(settings: HubSettings, kind: str) -> None:
    """A key given by a HUB_*_KEY_REF setting is not our file to swap: refuse, and say how."""
    source = key_source(settings, SPECS[kind])
    if source.kind != "folder":
        raise RotationKeyReference(kind, source.setting or "a key reference")


def read_key(path: Path, kind: str) -> bytes:
    try:
        return read_key_file(path, SPECS[kind])
    except FileNotFoundError:
        raise RotationKeyMismatch(kind, str(path), "is missing") from None


def create_next_key(settings: HubSettings, kind: str) -> bytes:
    """The new key: `<name>.next` if an earlier start left one (never used: nothing was
    switched to it without a record), else a fresh one."""
    path = next_path(settings, kind)
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):  # a start killed mid-write
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    if not os.path.lexists(path):
        create_key_file(path, SPECS[kind].size)
    return read_key(path, kind)


def install_next(settings: HubSettings, kind: str) -> None:
    """Replace the key file by `<name>.next` in one rename: the old key is gone from disk."""
    os.replace(next_path(settings, kind), key_path(settings, kind))
    fsync_dir(settings.keys_dir)


def discard_next(settings: HubSettings, kind: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        next_path(settings, kind).unlink()
    fsync_dir(settings.keys_dir)
