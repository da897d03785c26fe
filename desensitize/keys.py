"""The secret keys of the hub, kept in files outside both databases.

Data keys (`KeyRing`):
- `pseudonym.key` (32 bytes): master key of the keyed resident pseudonyms (HMAC-SHA256).
- `vault.key` (64 bytes): AES-256-SIV key of the re-identification vault.

Security keys (`SecurityKeys`, loaded separately so that the API can check tokens and sign
audit checkpoints without holding the vault key, and vice versa):
- `token_pepper.key` (32 bytes): HMAC key under which API tokens are stored.
- `audit_signing.key` (32 bytes): Ed25519 private key (seed) that signs audit checkpoints.

They are separate so that whoever can link records by pseudonym cannot also read raw
identifiers. Each file holds the key as one line of lower-case hex. Losing a key orphans every
pseudonym or vault entry made with it, so keys are created once and then only loaded: back the
folder up. Key material never appears in a repr, a message or a log line.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from desensitize.errors import KeyFileInsecure, KeyFileInvalid, KeyLengthInvalid

PSEUDONYM_KEY_FILE = "pseudonym.key"
VAULT_KEY_FILE = "vault.key"
TOKEN_PEPPER_FILE = "token_pepper.key"
AUDIT_SIGNING_KEY_FILE = "audit_signing.key"
PSEUDONYM_KEY_BYTES = 32
VAULT_KEY_BYTES = 64  # AES-SIV splits it into a 256-bit MAC key and a 256-bit CTR key
TOKEN_PEPPER_BYTES = 32
AUDIT_SIGNING_KEY_BYTES = 32  # an Ed25519 private key is its 32-byte seed
_GROUP_OTHER = 0o077


@dataclass(frozen=True)
class KeyRing:
    pseudonym_key: bytes = field(repr=False)
    vault_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.pseudonym_key) != PSEUDONYM_KEY_BYTES:
            raise KeyLengthInvalid("pseudonym", len(self.pseudonym_key), [PSEUDONYM_KEY_BYTES])
        if len(self.vault_key) != VAULT_KEY_BYTES:
            raise KeyLengthInvalid("vault", len(self.vault_key), [VAULT_KEY_BYTES])

    def __repr__(self) -> str:
        return "KeyRing(pseudonym_key=<hidden>, vault_key=<hidden>)"

    __str__ = __repr__

    @classmethod
    def load_or_create(cls, keys_dir: Path) -> KeyRing:
        """Load both keys from `keys_dir`, creating the folder and any missing key file."""
        keys_dir = _ensure_keys_dir(keys_dir)
        return cls(
            pseudonym_key=_load_or_create_key(keys_dir / PSEUDONYM_KEY_FILE, PSEUDONYM_KEY_BYTES),
            vault_key=_load_or_create_key(keys_dir / VAULT_KEY_FILE, VAULT_KEY_BYTES),
        )


@dataclass(frozen=True)
class SecurityKeys:
    """Token pepper and audit-signing key: same file rules as `KeyRing`, separate files."""

    token_pepper: bytes = field(repr=False)
    audit_signing_seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.token_pepper) != TOKEN_PEPPER_BYTES:
            raise KeyLengthInvalid("token pepper", len(self.token_pepper), [TOKEN_PEPPER_BYTES])
        if len(self.audit_signing_seed) != AUDIT_SIGNING_KEY_BYTES:
            raise KeyLengthInvalid("audit signing", len(self.audit_signing_seed),
                                   [AUDIT_SIGNING_KEY_BYTES])

    def __repr__(self) -> str:
        return "SecurityKeys(token_pepper=<hidden>, audit_signing_seed=<hidden>)"

    __str__ = __repr__

    @classmethod
    def load_or_create(cls, keys_dir: Path) -> SecurityKeys:
        """Load both security keys from `keys_dir`, creating the folder and missing files."""
        keys_dir = _ensure_keys_dir(keys_dir)
        return cls(
            token_pepper=_load_or_create_key(keys_dir / TOKEN_PEPPER_FILE, TOKEN_PEPPER_BYTES),
            audit_signing_seed=_load_or_create_key(keys_dir / AUDIT_SIGNING_KEY_FILE,
                                                   AUDIT_SIGNING_KEY_BYTES),
        )

    def signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.audit_signing_seed)

    def public_key(self) -> Ed25519PublicKey:
        """The checkpoint verification key; auditors may keep a copy outside the hub."""
        return self.signing_key().public_key()


def _ensure_keys_dir(keys_dir: Path) -> Path:
    keys_dir = Path(keys_dir)
    if keys_dir.exists() and not keys_dir.is_dir():
        raise KeyFileInvalid(str(keys_dir), "is not a folder")
    if not keys_dir.exists():
        keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(keys_dir, 0o700)  # mkdir's mode is filtered by the umask
    return keys_dir


def _load_or_create_key(path: Path, size: int) -> bytes:
    if not path.exists():
        _create_key_file(path, size)
    return _read_key_file(path, size)


def _create_key_file(path: Path, size: int) -> None:
    """Write a fresh key so that the final name never shows a partial or readable file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an odd umask must not leave the owner without read access
        os.write(fd, (secrets.token_bytes(size).hex() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link() refuses to replace: if another process created the key meanwhile, we load
        # theirs instead of silently swapping the key under pseudonyms already made with it.
        os.link(tmp, path)
    except FileExistsError:
        pass
    except OSError:
        if not path.exists():  # file systems without hard links
            os.rename(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _read_key_file(path: Path, size: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)  # checked on the opened file, not on a name that could be swapped
        if not stat.S_ISREG(st.st_mode):
            raise KeyFileInvalid(str(path), "is not a regular file")
        if st.st_mode & _GROUP_OTHER:
            raise KeyFileInsecure(str(path), st.st_mode)
        raw = os.read(fd, 4 * size + 16)
    finally:
        os.close(fd)
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise KeyFileInvalid(str(path), f"expected {2 * size} hex characters") from None
    if len(text) != 2 * size:
        raise KeyFileInvalid(str(path), f"expected {2 * size} hex characters, found {len(text)}")
    try:
        return bytes.fromhex(text)
    except ValueError:
        # `from None`: the ValueError text would quote the offending key characters
        raise KeyFileInvalid(str(path), f"expected {2 * size} hex characters") from None
