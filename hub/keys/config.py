"""Where the hub's four keys come from, and the checks every process runs before using them.

Each key comes from the file of its name in the home's keys folder (the default), or from a
reference in settings (`HUB_PSEUDONYM_KEY_REF`, `HUB_VAULT_KEY_REF`, `HUB_TOKEN_PEPPER_REF`,
`HUB_AUDIT_SIGNING_KEY_REF`): `file:/absolute/path` (e.g. a compose secret under /run/secrets)
or `env:VARIABLE` (the variable holds the key as hex, e.g. injected by an orchestrator).

Every process (pipeline worker, API, CLI, `hub serve`) loads keys through `load_keyring` and
`load_security_keys`, which refuse a missing key, a key file or keys folder others can read, a
placeholder key and keys sharing material. Loading never creates a key: only `init_keys`
(`hub keys init`) does, and only while the home holds no data, because a new key would orphan
every pseudonym, vault entry and token made with the old one. Messages name the key, its
source and the next step, never key material.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from desensitize.errors import (
    KeyMissing,
    KeyProblem,
    KeyReferenceInvalid,
    KeysShareMaterial,
    KeyWeak,
)
from desensitize.keycheck import fingerprint, key_weakness, shared_material
from desensitize.keys import (
    ALL_KEYS,
    AUDIT_SIGNING,
    PSEUDONYM,
    TOKEN_PEPPER,
    VAULT,
    KeyRing,
    KeySpec,
    SecurityKeys,
    check_key_folder,
    create_key_file,
    decode_hex_key,
    ensure_key_folder,
    read_key_file,
)
from hub.settings import HubSettings

REF_FIELDS = {PSEUDONYM.name: "pseudonym_key_ref", VAULT.name: "vault_key_ref",
              TOKEN_PEPPER.name: "token_pepper_ref",
              AUDIT_SIGNING.name: "audit_signing_key_ref"}
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_HEXISH = re.compile(r"[0-9A-Fa-f]{16,}")


@dataclass(frozen=True)
class KeySource:
    spec: KeySpec
    kind: Literal["folder", "file", "env"]
    path: Path | None = None  # folder, file
    variable: str | None = None  # env
    setting: str | None = None  # the HUB_*_REF setting, when the key is referenced

    def describe(self) -> str:
        via = f" from {self.setting}" if self.setting else ""
        if self.kind == "env":
            return f"environment variable {self.variable}{via}"
        return f"file {self.path}{via}"

    def present(self) -> bool:
        if self.kind == "env":
            return self.variable in os.environ
        return self.path is not None and os.path.lexists(self.path)


def key_source(settings: HubSettings, spec: KeySpec) -> KeySource:
    """Where `spec` comes from; KeyReferenceInvalid for a malformed reference (not quoted)."""
    field = REF_FIELDS[spec.name]
    ref = getattr(settings, field)
    if not ref:
        return KeySource(spec, "folder", path=settings.keys_dir / spec.file_name)
    setting = f"HUB_{field.upper()}"
    scheme, sep, rest = ref.strip().partition(":")
    if sep and scheme == "file":
        if not rest.startswith("/"):
            raise KeyReferenceInvalid(setting, "a file reference needs an absolute path")
        return KeySource(spec, "file", path=Path(rest), setting=setting)
    if sep and scheme == "env":
        if not _VARIABLE.fullmatch(rest):
            raise KeyReferenceInvalid(setting, "the part after `env:` is not a variable name")
        if _HEXISH.fullmatch(rest):  # the key itself pasted in: never echo it as a "name"
            raise KeyReferenceInvalid(setting, "the part after `env:` looks like a key, not "
                                      "like the name of the variable holding it")
        return KeySource(spec, "env", variable=rest, setting=setting)
    raise KeyReferenceInvalid(setting, "it starts with neither `file:` nor `env:`")


def home_has_data(settings: HubSettings) -> bool:
    """Does anything in this home depend on the current keys (warehouse, state, vault store)?"""
    if settings.warehouse_path.exists() or settings.vault_store_path.exists():
        return True
    from sqlalchemy.engine import make_url

    url = make_url(settings.resolved_state_url)
    if url.get_backend_name() == "sqlite":
        return bool(url.database) and url.database != ":memory:" \
            and Path(str(url.database)).exists()
    from sqlalchemy import create_engine, inspect

    try:  # a server state store (Postgres): data means tables
        engine = create_engine(url)
        try:
            return bool(inspect(engine).get_table_names())
        finally:
            engine.dispose()
    except Exception:  # unreachable: assume data rather than risk orphaning it
        return True


class _Home:
    """The settings plus a lazy `has_data`, asked only when a key is missing or weak."""

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings

    @cached_property
    def has_data(self) -> bool:
        return home_has_data(self.settings)

    def missing_step(self, source: KeySource) -> str:
        if self.has_data:
            return ("the home holds data made with this key: restore it from your key backup "
                    "(a new key would orphan every pseudonym, vault entry and token); "
                    "`hub keys init` will not create it")
        if source.kind == "env":
            return (f"set the variable from your secret store (a new key is {source.spec.size} "
                    f"random bytes as hex, e.g. `openssl rand -hex {source.spec.size}`); "
                    "`hub keys init` cannot create keys held in variables")
        return "this home holds no data yet: run `hub keys init`, then back up the keys"

    def replace_step(self) -> str:
        if self.has_data:
            return ("the home holds data made with it: replace it through key rotation "
                    "(`hub keys rotate`), not by editing it")
        return ("the home holds no data yet: delete the key (or unset its variable) and run "
                "`hub keys init` for a generated one")


def _read(home: _Home, source: KeySource) -> bytes:
    """One key from its source, with every check on that key alone."""
    spec = source.spec
    if source.kind == "env":
        assert source.variable is not None
        text = os.environ.get(source.variable)
        if text is None:
            raise KeyMissing(spec.name, source.describe(), home.missing_step(source))
        data = decode_hex_key(text, spec, source.describe())
    else:
        assert source.path is not None
        try:
            check_key_folder(source.path.parent, private=source.kind == "folder")
            data = read_key_file(source.path, spec,
                                 f" (from {source.setting})" if source.setting else "")
        except FileNotFoundError:
            raise KeyMissing(spec.name, source.describe(), home.missing_step(source)) from None
    reason = key_weakness(data)
    if reason:
        raise KeyWeak(spec.name, source.describe(), reason, home.replace_step())
    return data


def _load(settings: HubSettings, wanted: tuple[KeySpec, ...]) -> dict[str, bytes]:
    """The wanted keys, fully checked; compared with the other keys where this process can
    read them (a host may hold only the keys it needs)."""
    home = _Home(settings)
    sources = {spec.name: key_source(settings, spec) for spec in wanted}
    keys = {name: _read(home, source) for name, source in sources.items()}
    others: dict[str, bytes] = {}
    for spec in ALL_KEYS:
        if spec.name in keys:
            continue
        try:
            source = key_source(settings, spec)
            others[spec.name] = _read(home, source)
        except (KeyProblem, OSError):
            continue  # its own loader reports it
        sources[spec.name] = source
    for a, b in shared_material(keys | others):
        if a in keys or b in keys:
            raise KeysShareMaterial([a, b], [sources[a].describe(), sources[b].describe()],
                                    home.replace_step())
    return keys


def load_keyring(settings: HubSettings) -> KeyRing:
    """The pseudonym and vault keys (pipeline worker, publish, reveal, rotation)."""
    keys = _load(settings, (PSEUDONYM, VAULT))
    return KeyRing(pseudonym_key=keys[PSEUDONYM.name], vault_key=keys[VAULT.name])


def load_security_keys(settings: HubSettings) -> SecurityKeys:
    """The token pepper and audit-signing key (API, token and audit commands)."""
    keys = _load(settings, (TOKEN_PEPPER, AUDIT_SIGNING))
    return SecurityKeys(token_pepper=keys[TOKEN_PEPPER.name],
                        audit_signing_seed=keys[AUDIT_SIGNING.name])


def verify_keys(settings: HubSettings) -> None:
    """All four keys present, private, real and distinct (`hub serve`, `hub keys init`)."""
    _load(settings, ALL_KEYS)


def init_keys(settings: HubSettings) -> list[str]:
    """Create the missing key files of a home that holds no data yet; the names created.

    Idempotent: keys already there are only checked. Refuses (KeyMissing) to create a key
    when the home holds data (restore it instead) or when the key is held in a variable."""
    home = _Home(settings)
    sources = [key_source(settings, spec) for spec in ALL_KEYS]
    missing = [s for s in sources if not s.present()]
    refused = [s for s in missing if s.kind == "env"]
    if missing and not refused and home.has_data:
        refused = missing
    if refused:
        raise KeyMissing(refused[0].spec.name, refused[0].describe(),
                         home.missing_step(refused[0]))
    created: list[str] = []
    for source in missing:
        assert source.path is not None
        if source.kind == "folder":
            settings.ensure_dirs()
            ensure_key_folder(settings.keys_dir)
        else:
            check_key_folder(source.path.parent, private=False)
        if create_key_file(source.path, source.spec.size):
            created.append(source.spec.name)
    verify_keys(settings)
    return created


@dataclass(frozen=True)
class KeyStatus:
    """One line of `hub keys check`: never the key, at most its fingerprint."""

    key: str
    source: str
    permissions: str
    fingerprint: str | None
    problem: str | None


def _permissions(source: KeySource) -> str:
    if source.kind == "env":
        return "environment variable (no file)"
    assert source.path is not None
    try:
        st = os.lstat(source.path)
    except FileNotFoundError:
        return "missing"
    if stat.S_ISLNK(st.st_mode):
        return "symbolic link (refused)"
    mode = stat.S_IMODE(st.st_mode)
    state = "owner only" if not mode & 0o077 else "open to group/others"
    return f"{mode:04o} {state}"


def check_keys(settings: HubSettings) -> list[KeyStatus]:
    """Every key's source, permissions, fingerprint and problem (None: good)."""
    home = _Home(settings)
    rows: dict[str, KeyStatus] = {}
    loaded: dict[str, bytes] = {}
    for spec in ALL_KEYS:
        try:
            source = key_source(settings, spec)
        except KeyReferenceInvalid as exc:
            rows[spec.name] = KeyStatus(spec.name, f"{exc.setting} (invalid)", "-", None,
                                        str(exc))
            continue
        try:
            loaded[spec.name] = _read(home, source)
            problem = None
        except (KeyProblem, OSError) as exc:
            problem = str(exc) if isinstance(exc, KeyProblem) else \
                f"cannot read {source.describe()}: {exc.strerror}"
        print_ = fingerprint(loaded[spec.name]) if spec.name in loaded else None
        rows[spec.name] = KeyStatus(spec.name, source.describe(), _permissions(source),
                                    print_, problem)
    for a, b in shared_material(loaded):
        for name, other in ((a, b), (b, a)):
            row = rows[name]
            rows[name] = KeyStatus(row.key, row.source, row.permissions, row.fingerprint,
                                   f"shares key material with the {other} key; "
                                   f"{home.replace_step()}")
    return [rows[spec.name] for spec in ALL_KEYS]
