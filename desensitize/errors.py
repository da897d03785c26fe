"""Errors raised while handling keys, pseudonyms, the vault and the de-identification policy.

    DesensitizeError (DataHubError)
    ├── KeyProblem                   key material cannot be used
    │   ├── KeyFileInsecure          a key file is readable by others, not ours, or a symlink
    │   ├── KeyFolderInsecure        the folder of key files is readable or writable by others
    │   ├── KeyMissing               a key file or variable is absent (restore or `keys init`)
    │   ├── KeyInvalid               a key has the wrong length or format
    │   │   └── KeyFileInvalid       ... read from a key file
    │   ├── KeyWeak                  a placeholder: repeated, sequential, text, a known example
    │   ├── KeysShareMaterial        two of the four keys share key material
    │   ├── KeyReferenceInvalid      a HUB_*_KEY_REF setting is neither file:/path nor env:NAME
    │   └── KeyLengthInvalid         bytes handed to a cipher have the wrong length
    ├── VaultError
    │   ├── VaultDecryptFailed       a ciphertext does not open for this key, field and resident
    │   └── VaultResidentMissing     a value to seal has no resident key to bind it to
    └── PolicyError                  a contract and a frame cannot be de-identified together
        ├── NoIdentityColumn         vault columns but no resident ID column to key them by
        └── FrameColumnMissing       a required contract column is absent from the frame

Messages name files, fields, columns and source row numbers and say what to do next. They never
carry a key, a raw identifier or any other cell value.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.errors import DataHubError, ExitCode


def _rows(rows: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"{shown}{more}"


class DesensitizeError(DataHubError):
    """Base of every error raised by `desensitize`."""

    status = 500
    exit_code = ExitCode.CONFIG


class KeyProblem(DesensitizeError):
    """Key material cannot be used."""

    status = 503


class KeyFileInsecure(KeyProblem):
    """`key` and `via` (e.g. " (from HUB_VAULT_KEY_REF)") say which key and why this file."""

    def __init__(self, path: str, mode: int, problem: str | None = None,
                 next_step: str | None = None, key: str = "", via: str = "") -> None:
        self.path = path
        self.mode = mode
        self.key = key
        self.problem = problem or (f"has mode {mode & 0o777:04o} and is readable by group or "
                                   "others")
        step = next_step or f"restrict it with `chmod 600 {path}` (and `chmod 700` on its folder)"
        what = f"the {key} key file" if key else "key file"
        super().__init__(f"{what} {path}{via} {self.problem}; {step}, then retry")


class KeyFolderInsecure(KeyProblem):
    def __init__(self, path: str, mode: int, problem: str, next_step: str) -> None:
        self.path = path
        self.mode = mode
        self.problem = problem
        super().__init__(f"keys folder {path} {problem}; {next_step}, then retry")


class KeyMissing(KeyProblem):
    """`source` names the file or variable; `next_step` depends on whether data exists."""

    def __init__(self, key: str, source: str, next_step: str) -> None:
        self.key = key
        self.source = source
        super().__init__(f"the {key} key is missing ({source}); {next_step}")


class KeyInvalid(KeyProblem):
    def __init__(self, key: str, source: str, problem: str) -> None:
        self.key = key
        self.source = source
        self.problem = problem
        super().__init__(
            f"the {key} key ({source}) is invalid: {problem}; restore it from the key backup "
            "(a new key would orphan every pseudonym, vault entry or token made with the old one)"
        )


class KeyFileInvalid(KeyInvalid):
    def __init__(self, path: str, problem: str, key: str = "", via: str = "") -> None:
        self.path = path
        super().__init__(key or "hub", f"key file {path}{via}", problem)


class KeyWeak(KeyProblem):
    def __init__(self, key: str, source: str, reason: str, next_step: str) -> None:
        self.key = key
        self.source = source
        self.reason = reason
        super().__init__(
            f"the {key} key ({source}) is a placeholder, not a secret: {reason}; {next_step}")


class KeysShareMaterial(KeyProblem):
    def __init__(self, keys: Sequence[str], sources: Sequence[str], next_step: str) -> None:
        self.keys = tuple(keys)
        self.sources = tuple(sources)
        pairs = " and ".join(f"the {k} key ({s})" for k, s in zip(keys, sources, strict=True))
        super().__init__(f"{pairs} share key material; every key must be generated "
                         f"separately; {next_step}")


class KeyReferenceInvalid(KeyProblem):
    """The setting's value is never quoted: a key pasted into it by mistake must not leak."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(
            f"{setting} is invalid: {problem}; write it as `file:/absolute/path/to/key` or "
            "`env:VARIABLE_NAME` (the variable holding the key as hex), or unset it to use the "
            "key file in the home's keys folder"
        )


class KeyLengthInvalid(KeyProblem):
    def __init__(self, purpose: str, got: int, expected: Sequence[int]) -> None:
        self.purpose = purpose
        self.got = got
        self.expected = tuple(expected)
        wanted = " or ".join(str(n) for n in self.expected)
        super().__init__(
            f"{purpose} key has {got} bytes, expected {wanted}; "
            "load keys through the hub's key loader and check them with `hub keys check`"
        )


class VaultError(DesensitizeError):
    """The re-identification vault cannot seal or open a value."""


class VaultDecryptFailed(VaultError):
    def __init__(self, field: str | None, rows: Sequence[int] = ()) -> None:
        self.field = field
        self.rows = list(rows)
        where = f" for field '{field}'" if field else ""
        at = f" at rows {_rows(self.rows)}" if self.rows else ""
        super().__init__(
            f"vault ciphertext does not open{where}{at}: wrong vault key, or the entry was moved "
            "to another resident or field, or altered; check the vault key file and the entry"
        )


class VaultResidentMissing(VaultError):
    def __init__(self, field: str, rows: Sequence[int]) -> None:
        self.field = field
        self.rows = list(rows)
        super().__init__(
            f"cannot seal field '{field}' at rows {_rows(self.rows)}: the resident key is missing; "
            "every vault value must belong to a resident, fix the resident ID of these rows"
        )


class PolicyError(DesensitizeError):
    """A contract and a frame cannot be de-identified together."""


class NoIdentityColumn(PolicyError):
    def __init__(self, dataset: str, version: str, vault_columns: Sequence[str]) -> None:
        self.dataset = dataset
        self.version = version
        self.vault_columns = list(vault_columns)
        super().__init__(
            f"contract {dataset} v{version} keeps columns {', '.join(self.vault_columns)} in the "
            "vault but has no resident ID column (identity: resident_id) to key them by; "
            "add one or change those columns to deid: drop"
        )


class FrameColumnMissing(PolicyError):
    def __init__(self, dataset: str, version: str, column: str) -> None:
        self.dataset = dataset
        self.version = version
        self.column = column
        super().__init__(
            f"frame for contract {dataset} v{version} lacks required column '{column}'; "
            "validate the extract against the contract before de-identifying it"
        )
