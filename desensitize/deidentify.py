"""Apply a contract's de-identification rules to a validated frame.

The contract says, per column, what reaches the curated table (`ColumnSpec.curated_name`):

    keep        the value as it is (money stays Int64 fen)
    pseudonym   keyed pseudonym in column `output`, one subkey per column name (domain)
    birth_year  the year of the date in column `output`
    vault       nothing: the raw value is sealed in the vault only
    drop        nothing

Columns with deid=vault, and columns flagged vault=True (the ID behind the resident key), are
also sealed into vault entries bound to the row's resident key: the pseudonym of the
contract's resident ID column. Raw identifiers therefore leave this module only encrypted.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

import pandas as pd

from desensitize.errors import FrameColumnMissing, NoIdentityColumn
from desensitize.generalise import birth_year
from desensitize.keys import KeyRing
from desensitize.pseudonym import Pseudonymiser
from desensitize.vault import VaultCipher, as_vault_text
from schemas.frames import frame_dtype
from schemas.spec import ColumnSpec, ContractSpec, Deid

VAULT_COLUMNS = ["resident_key", "field", "ciphertext"]

@dataclass
class DeidResult:
    # Exactly the contract's curated columns in contract order; index = source row numbers.
    curated: pd.DataFrame
    # VAULT_COLUMNS: one row per distinct (resident_key, field, value) of the vault columns.
    vault: pd.DataFrame


def empty_vault() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "resident_key": pd.Series([], dtype="string"),
            "field": pd.Series([], dtype="string"),
            "ciphertext": pd.Series([], dtype=object),
        }
    )


def curated_dtype(column: ColumnSpec) -> str:
    """Dtype of a column's curated output in a frame."""
    if column.deid == Deid.PSEUDONYM:
        return "string"
    if column.deid == Deid.BIRTH_YEAR:
        return "Int16"
    return frame_dtype(column)


def _vault_columns(contract: ContractSpec) -> list[ColumnSpec]:
    return [c for c in contract.columns if c.deid == Deid.VAULT or c.vault]


def _check(contract: ContractSpec, frame: pd.DataFrame) -> ColumnSpec | None:
    """The contract's identity column, once the frame is known to fit the contract."""
    for column in contract.columns:
        if column.required and column.name not in frame.columns:
            raise FrameColumnMissing(contract.name, contract.version, column.name)
    vaulted = [c.name for c in _vault_columns(contract)]
    identity = contract.identity_column
    if vaulted and identity is None:
        raise NoIdentityColumn(contract.name, contract.version, vaulted)
    present = [name for name in vaulted if name in frame.columns]
    if present and identity is not None and identity.name not in frame.columns:
        raise FrameColumnMissing(contract.name, contract.version, identity.name)
    return identity


class Deidentifier:
    """Not thread-safe (it owns a DuckDB connection): one per pipeline worker."""

    def __init__(self, keyring: KeyRing) -> None:
        self._pseudonymiser = Pseudonymiser(keyring.pseudonym_key)
        self._vault = VaultCipher(keyring.vault_key)

    def __repr__(self) -> str:
        return "Deidentifier(keyring=<hidden>)"

    def apply(self, contract: ContractSpec, frame: pd.DataFrame) -> DeidResult:
        identity = _check(contract, frame)
        pseudonyms = {
            c.name: self._pseudonymiser.pseudonymise(frame[c.name], domain=c.name)
            for c in contract.columns
            if c.deid == Deid.PSEUDONYM and c.name in frame.columns
        }
        sealed = [c for c in _vault_columns(contract) if c.name in frame.columns]
        vault = empty_vault()
        if sealed and identity is not None:  # _check guarantees the identity when sealing
            resident_keys = pseudonyms.get(identity.name)
            if resident_keys is None:  # the ID column is itself vaulted or dropped
                resident_keys = self._pseudonymiser.pseudonymise(
                    frame[identity.name], domain=identity.name
                )
            vault = self._seal(frame, sealed, resident_keys)
        return DeidResult(curated=self._curated(contract, frame, pseudonyms), vault=vault)

    def _curated(
        self, contract: ContractSpec, frame: pd.DataFrame, pseudonyms: dict[str, pd.Series]
    ) -> pd.DataFrame:
        data: dict[str, object] = {}
        for column in contract.columns:
            name = column.curated_name
            if name is None:
                continue
            if column.name not in frame.columns:  # an optional column this source lacks
                data[name] = pd.Series(None, index=frame.index, dtype=curated_dtype(column)).array
            elif column.deid == Deid.PSEUDONYM:
                data[name] = pseudonyms[column.name].array
            elif column.deid == Deid.BIRTH_YEAR:
                data[name] = birth_year(frame[column.name]).array
            else:
                data[name] = frame[column.name].array
        # Arrays, not series: no index alignment, so duplicate row numbers cannot multiply rows.
        return pd.DataFrame(data, index=frame.index)

    def _seal(
        self, frame: pd.DataFrame, columns: list[ColumnSpec], resident_keys: pd.Series
    ) -> pd.DataFrame:
        parts = []
        for column in columns:
            pairs = pd.DataFrame(
                {
                    "resident_key": resident_keys.array,
                    "value": as_vault_text(frame[column.name]).array,
                },
                index=frame.index,
            )
            pairs = pairs[pairs["value"].notna()].drop_duplicates()
            ciphertext = self._vault.seal_present(
                pairs["value"], column.name, pairs["resident_key"]
            )
            parts.append(
                pd.DataFrame(
                    {
                        "resident_key": pairs["resident_key"].array,
                        "field": pd.array([column.name] * len(pairs), dtype="string"),
                        # Arrow-backed bytes: staged as they are, no Python object per value.
                        "ciphertext": pd.arrays.ArrowExtensionArray(ciphertext),
                    }
                )
            )
        if not parts:
            return empty_vault()
        return pd.concat(parts, ignore_index=True)

    def close(self) -> None:
        self._pseudonymiser.close()

    def __enter__(self) -> Deidentifier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
