"""Sealed history of pseudonyms: which earlier keys a resident or household had.

After `hub keys rotate pseudonym` every resident key changes, but the audit log is append-only
and hash-chained, so its records keep the keys that were current when they were written. The
history lets the access report (hub.vault.access_report) find those records: for each current key it
holds the earlier keys, each sealed under the vault key and bound to (domain, current key).
Without the vault key the history links nothing, so a leaked old pseudonym key plus a copy of
the state cannot bridge to today's keys.

Master copy: table `vault.key_history` in the warehouse, written by the rotation in the same
transaction that switches the keys. Read copy: the vault store (hub.vault.store), which the API
and `hub access-report` read.
"""

from __future__ import annotations

import pandas as pd

from desensitize.vault import VaultCipher

# Domains are the contract column names the pseudonyms are made from.
RESIDENT_DOMAIN = "resident_id"
HOUSEHOLD_DOMAIN = "household_id"
_AD_TAG = b"key_history"

KEY_HISTORY_DDL = """CREATE TABLE IF NOT EXISTS vault.key_history (
    domain VARCHAR NOT NULL,
    current_key VARCHAR NOT NULL,
    sealed_previous BLOB NOT NULL,
    epoch INTEGER NOT NULL  -- the rotation (1, 2, ...) that retired the sealed key
)"""


def history_field(domain: str) -> str:
    """The first associated-data item of a history row: never a column name (they have no
    colon), so a history row and a vault entry can never open as each other."""
    return f"{_AD_TAG.decode()}:{domain}"


def _associated(domain: str, current_key: str) -> list[bytes]:
    # Two items, [tag:domain, current key], exactly the layout VaultCipher.encrypt_column binds
    # ([field, resident key]): the rotation re-seals millions of rows through those bulk calls.
    return [history_field(domain).encode("utf-8"), current_key.encode("utf-8")]


def seal_previous(cipher: VaultCipher, domain: str, current_key: str, previous_key: str) -> bytes:
    return cipher.seal(previous_key.encode("ascii"), _associated(domain, current_key))


def open_previous(cipher: VaultCipher, domain: str, current_key: str, sealed: bytes) -> str:
    """Raises desensitize.errors.VaultDecryptFailed if the row was moved or the key is wrong."""
    return cipher.open(bytes(sealed), _associated(domain, current_key)).decode("ascii")


def seal_previous_column(cipher: VaultCipher, domain: str, current_keys: pd.Series,
                         previous_keys: pd.Series) -> pd.Series:
    """`seal_previous` for many rows at once (aligned by index); bytes per row."""
    return cipher.encrypt_column(previous_keys, history_field(domain), current_keys)


def open_previous_column(cipher: VaultCipher, domain: str, current_keys: pd.Series,
                         sealed: pd.Series) -> pd.Series:
    """`open_previous` for many rows at once; raises VaultDecryptFailed naming the rows."""
    return cipher.decrypt_column(sealed, history_field(domain), current_keys)
