"""The re-identification vault cipher: deterministic AES-SIV (RFC 5297).

Deterministic, so the same raw value of the same resident and field always seals to the same
ciphertext, so the vault can deduplicate by ciphertext and a reloaded batch adds no rows. The field
name and the resident key are associated data, so a ciphertext copied to another resident's
row or another field no longer opens. The vault key is separate from the pseudonym key.

The library's AESSIV seals one value per call, too slow for a column of a million
residents, so whole columns go through `desensitize.siv_batch` (the same RFC 5297 construction
on arrays of messages, byte-identical output); `seal` / `open` stay on the library for one value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from desensitize.errors import KeyLengthInvalid, VaultDecryptFailed, VaultResidentMissing
from desensitize.siv_batch import SivBatch

# The key ring always supplies 64 bytes (AES-256-SIV); 32 and 48 are accepted so that the
# RFC 5297 test vectors (AES-128-SIV) run through this very class.
_SIV_KEY_BYTES = (32, 48, 64)


def as_vault_text(values: pd.Series) -> pd.Series:
    """The text form a value is sealed in; the vault stores text whatever the column type."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.dt.strftime("%Y-%m-%d").astype("string")
    return values.astype("string")


def _utf8(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The values' UTF-8 text as Arrow (no copy for pandas' Arrow-backed strings)."""
    return pa.array(values.astype("string").array)


def _binary(values: pd.Series) -> pa.Array:
    if isinstance(values.dtype, pd.ArrowDtype):  # sealed by seal_present, kept as Arrow
        arrow = pa.array(values.array)
        return arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow
    try:
        return pa.array(values.to_numpy(dtype=object), pa.binary())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # memoryviews and the like: copy them to bytes
        return pa.array([bytes(v) for v in values.tolist()], pa.binary())


class VaultCipher:
    def __init__(self, vault_key: bytes) -> None:
        if len(vault_key) not in _SIV_KEY_BYTES:
            raise KeyLengthInvalid("vault", len(vault_key), _SIV_KEY_BYTES)
        self._siv = AESSIV(vault_key)
        self._batch = SivBatch(vault_key)

    def __repr__(self) -> str:
        return "VaultCipher(vault_key=<hidden>)"

    def seal(self, plaintext: bytes, associated: list[bytes]) -> bytes:
        """SIV || ciphertext, exactly the RFC 5297 output layout."""
        return self._siv.encrypt(plaintext, associated)

    def open(self, ciphertext: bytes, associated: list[bytes]) -> bytes:
        try:
            return self._siv.decrypt(ciphertext, associated)
        except InvalidTag:
            raise VaultDecryptFailed(None) from None

    def encrypt_column(self, values: pd.Series, field: str, resident_keys: pd.Series) -> pd.Series:
        """Seal each non-null value under [field, resident key]; <NA> becomes None.

        `resident_keys` is aligned to `values` by index. Returns an object series of bytes
        with the index of `values`.
        """
        text = as_vault_text(values)
        present = text.notna().to_numpy()
        sealed = self.seal_present(text[present], field, resident_keys)
        out = np.full(len(values), None, dtype=object)
        out[present] = sealed.to_numpy(zero_copy_only=False)
        return pd.Series(out, index=values.index, name=values.name)

    def seal_present(self, values: pd.Series, field: str, resident_keys: pd.Series
                     ) -> pa.Array:
        """`encrypt_column` of values that are all present, as an Arrow binary array in
        their order: no Python bytes object per value."""
        text = as_vault_text(values)
        keys = resident_keys.reindex(values.index).astype("string")
        orphan = keys.isna().to_numpy()
        if orphan.any():
            raise VaultResidentMissing(field, values.index[orphan].tolist())
        return self._batch.encrypt(_utf8(text), [field.encode("utf-8"), _utf8(keys)])

    def decrypt_column(
        self, ciphertexts: pd.Series, field: str, resident_keys: pd.Series
    ) -> pd.Series:
        """Open each ciphertext sealed by `encrypt_column`; None becomes <NA> (dtype "string").

        Raises VaultDecryptFailed naming the field and the index labels that do not open.
        """
        keys = resident_keys.reindex(ciphertexts.index).astype("string")
        present = ciphertexts.notna().to_numpy()
        keyed = present & keys.notna().to_numpy()  # sealed values always carry a resident key
        opened, ok = self._batch.decrypt(
            _binary(ciphertexts[keyed]), [field.encode("utf-8"), _utf8(keys[keyed])])
        failed = np.zeros(len(ciphertexts), np.bool_)
        failed[present & ~keyed] = True
        failed[np.flatnonzero(keyed)[~ok]] = True
        if failed.any():
            raise VaultDecryptFailed(field, ciphertexts.index[failed].tolist())
        # Text in the input's positions, null where there was no ciphertext.
        where = np.full(len(ciphertexts), -1, np.int64)
        where[keyed] = np.arange(int(keyed.sum()))
        text = opened.cast(pa.string()).take(pa.array(where, mask=where < 0))
        return pd.Series(pd.array(text, dtype="string"), index=ciphertexts.index,
                         name=ciphertexts.name)
