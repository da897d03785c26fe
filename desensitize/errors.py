"""Errors raised while handling keys, pseudonyms, the vault and the de-identification policy.

    DesensitizeError
    ├── KeyProblem                   key material cannot be used
    │   ├── KeyFileInsecure          a key file (or its folder) is readable by group/others
    │   ├── KeyFileInvalid           a key file has the wrong length or format
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


def _rows(rows: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"{shown}{more}"


class DesensitizeError(Exception):
    """Base of every error raised by `desensitize`."""


class KeyProblem(DesensitizeError):
    """Key material cannot be used."""


class KeyFileInsecure(KeyProblem):
    def __init__(self, path: str, mode: int) -> None:
        self.path = path
        self.mode = mode
        super().__init__(
            f"key file {path} has mode {mode & 0o777:04o} and is readable by group or others; "
            f"restrict it with `chmod 600 {path}` (and `chmod 700` on its folder), then retry"
        )


class KeyFileInvalid(KeyProblem):
    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(
            f"key file {path} is invalid: {problem}; restore it from the key backup "
            "(a new key would orphan every existing pseudonym or vault entry)"
        )


class KeyLengthInvalid(KeyProblem):
    def __init__(self, purpose: str, got: int, expected: Sequence[int]) -> None:
        self.purpose = purpose
        self.got = got
        self.expected = tuple(expected)
        wanted = " or ".join(str(n) for n in self.expected)
        super().__init__(
            f"{purpose} key has {got} bytes, expected {wanted}; "
            "load keys with KeyRing.load_or_create"
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
