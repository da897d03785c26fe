"""The secret keys of the hub, kept outside both databases.

Data keys (`KeyRing`):
- `pseudonym.key` (32 bytes): master key of the keyed resident pseudonyms (HMAC-SHA256).
- `vault.key` (64 bytes): AES-256-SIV key of the re-identification vault.

Security keys (`SecurityKeys`, loaded separately so that the API can check tokens and sign
audit checkpoints without holding the vault key, and vice versa):
- `token_pepper.key` (32 bytes): HMAC key under which API tokens are stored.
- `audit_signing.key` (32 bytes): Ed25519 private key (seed) that signs audit checkpoints.

They are separate so that whoever can link records by pseudonym cannot also read raw
identifiers. A key is one line of lower-case hex, in a file only its owner can read (or, for
containers, in an environment variable: see hub.keys.config, which decides where each key comes
from). This module reads, creates and judges key material; it never creates a key as a side
effect of loading one, because a new key would orphan every pseudonym or vault entry made with
the old one. Key material never appears in a repr, a message or a log line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from desensitize.errors import (
    KeyFileInsecure,
    KeyFileInvalid,
    KeyFolderInsecure,
    KeyInvalid,
    KeyLengthInvalid,
)

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
class KeySpec:
    """One of the four keys: its name in messages, its file name and its size."""

    name: str
    file_name: str
    size: int


PSEUDONYM = KeySpec("pseudonym", PSEUDONYM_KEY_FILE, PSEUDONYM_KEY_BYTES)
VAULT = KeySpec("vault", VAULT_KEY_FILE, VAULT_KEY_BYTES)
TOKEN_PEPPER = KeySpec("token pepper", TOKEN_PEPPER_FILE, TOKEN_PEPPER_BYTES)
AUDIT_SIGNING = KeySpec("audit signing", AUDIT_SIGNING_KEY_FILE, AUDIT_SIGNING_KEY_BYTES)
ALL_KEYS = (PSEUDONYM, VAULT, TOKEN_PEPPER, AUDIT_SIGNING)


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


@dataclass(frozen=True)
class SecurityKeys:
    """Token pepper and audit-signing key: same rules as `KeyRing`, separate sources."""

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

    def signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.audit_signing_seed)

    def public_key(self) -> Ed25519PublicKey:
        """The checkpoint verification key; auditors may keep a copy outside the hub."""
        return self.signing_key().public_key()


def check_key_folder(folder: Path, *, private: bool) -> None:
    """Refuse a folder through which someone else could read or swap our key files.

    `private` (the home's keys folder): ours, not a symlink, closed to group and others.
    Otherwise (the folder of a `file:` reference, e.g. /run/secrets): ours or root's, and
    writable by nobody else. Raises FileNotFoundError when the folder does not exist."""
    st = os.lstat(folder)
    if stat.S_ISLNK(st.st_mode) and private:
        raise KeyFolderInsecure(str(folder), st.st_mode, "is a symbolic link",
                                "make it a real folder (move the key files into it)")
    if not private:
        st = os.stat(folder)  # /run/secrets and friends may sit behind system symlinks
    if not stat.S_ISDIR(st.st_mode):
        raise KeyFolderInsecure(str(folder), st.st_mode, "is not a folder",
                                "point the hub at a folder holding only key files")
    owners = {os.geteuid()} if private else {os.geteuid(), 0}
    if st.st_uid not in owners:
        raise KeyFolderInsecure(str(folder), st.st_mode,
                                f"belongs to uid {st.st_uid}, not to the hub's user "
                                f"(uid {os.geteuid()})", f"run `chown {os.geteuid()} {folder}`")
    mode = stat.S_IMODE(st.st_mode)
    open_bits = _GROUP_OTHER if private else 0o022
    if mode & open_bits:
        kind = "readable by group or others" if private else "writable by group or others"
        wanted = "700" if private else "go-w"
        raise KeyFolderInsecure(str(folder), st.st_mode, f"has mode {mode:04o} and is {kind}",
                                f"run `chmod {wanted} {folder}`")


def ensure_key_folder(folder: Path) -> None:
    """Create the private keys folder (0700 whatever the umask), or check the existing one."""
    if not os.path.lexists(folder):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    check_key_folder(folder, private=True)


def read_key_file(path: Path, spec: KeySpec, via: str = "") -> bytes:
    """One key from its file, checked on the opened file (not on a name that could be swapped).

    `via` names the setting that points at the file, for messages (" (from HUB_..._REF)").

    Raises FileNotFoundError when absent; KeyFileInsecure when it is a symlink, not ours, or
    readable by group or others; KeyFileInvalid when it is not one line of hex of the size."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: a FIFO planted as a key cannot hang us
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise KeyFileInsecure(str(path), 0, "is a symbolic link",
                                  "replace it by the key file itself", spec.name, via) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeyFileInvalid(str(path), "is not a regular file", spec.name, via)
        if st.st_uid != os.geteuid():
            raise KeyFileInsecure(str(path), st.st_mode,
                                  f"belongs to uid {st.st_uid}, not to the hub's user "
                                  f"(uid {os.geteuid()})", f"run `chown {os.geteuid()} {path}`",
                                  spec.name, via)
        if st.st_mode & _GROUP_OTHER:
            raise KeyFileInsecure(str(path), st.st_mode, key=spec.name, via=via)
        raw = os.read(fd, 4 * spec.size + 16)
    finally:
        os.close(fd)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileInvalid(str(path), f"expected {2 * spec.size} hex characters",
                             spec.name, via) from None
    return decode_hex_key(text, spec, f"key file {path}{via}", file_path=str(path), via=via)


def decode_hex_key(text: str, spec: KeySpec, source: str, *, file_path: str = "",
                   via: str = "") -> bytes:
    """The key bytes of one line of hex; errors give lengths, never characters of the key."""

    def invalid(problem: str) -> KeyInvalid:
        if file_path:
            return KeyFileInvalid(file_path, problem, spec.name, via)
        return KeyInvalid(spec.name, source, problem)

    text = text.strip()
    if len(text) != 2 * spec.size:
        raise invalid(f"expected {2 * spec.size} hex characters, found {len(text)}")
    try:
        return bytes.fromhex(text)
    except ValueError:
        # `from None`: the ValueError text would quote the offending key characters
        raise invalid(f"expected {2 * spec.size} hex characters, found other characters"
                      ) from None


def create_key_file(path: Path, size: int) -> bool:
    """Write a fresh random key; False when another process created the file first.

    The key is written under a temporary name and linked into place, so the final name never
    shows a partial or readable file, and an existing key is never replaced."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an odd umask must not leave the owner without read access
        os.write(fd, (secrets.token_bytes(size).hex() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    created = True
    try:
        os.link(tmp, path)
    except FileExistsError:
        created = False
    except OSError:
        if os.path.lexists(path):  # file systems without hard links
            created = False
        else:
            os.rename(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    fsync_dir(path.parent)
    return created


def fsync_dir(folder: Path) -> None:
    """Make a rename or new file in `folder` durable (its directory entry)."""
    with contextlib.suppress(OSError):  # not every platform can open a directory
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
