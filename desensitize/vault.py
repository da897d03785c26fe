"""The re-identification vault cipher: deterministic AES-SIV (RFC 5297).

Deterministic, so the same raw value of the same resident and field always seals to the same
ciphertext, so the vault can deduplicate by ciphertext and a reloaded batch adds no rows. The field
name and the resident key are associated data, so a ciphertext copied to another resident's
row or another field no longer opens. The vault key is separate from the pseudonym key.

AES-SIV has no batch interface: each value costs one call into the library. The policy seals
each distinct (resident, field, value) once, which keeps that loop as short as it can be.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from desensitize.errors import KeyLengthInvalid, VaultDecryptFailed, VaultResidentMissing

# The key ring always supplies 64 bytes (AES-256-SIV); 32 and 48 are accepted so that the
# RFC 5297 test vectors (AES-128-SIV) run through this very class.
_SIV_KEY_BYTES = (32, 48, 64)


def as_vault_text(values: pd.Series) -> pd.Series:
    """The text form a value is sealed in; the vault stores text whatever the column type."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.dt.strftime("%Y-%m-%d").astype("string")
    return values.astype("string")


def _object_array(items: list[bytes]) -> npt.NDArray[np.object_]:
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


class VaultCipher:
    def __init__(self, vault_key: bytes) -> None:
        if len(vault_key) not in _SIV_KEY_BYTES:
            raise KeyLengthInvalid("vault", len(vault_key), _SIV_KEY_BYTES)
        self._siv = AESSIV(vault_key)

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
        keys = resident_keys.reindex(values.index).astype("string")
        present = text.notna().to_numpy()
        orphan = present & keys.isna().to_numpy()
        if orphan.any():
            raise VaultResidentMissing(field, values.index[orphan].tolist())
        field_ad = field.encode("utf-8")
        sealed = [
            self._siv.encrypt(v.encode("utf-8"), [field_ad, k.encode("utf-8")])
            for v, k in zip(text[present].tolist(), keys[present].tolist(), strict=True)
        ]
        out = np.full(len(values), None, dtype=object)
        out[present] = _object_array(sealed)
        return pd.Series(out, index=values.index, name=values.name)

    def decrypt_column(
        self, ciphertexts: pd.Series, field: str, resident_keys: pd.Series
    ) -> pd.Series:
        """Open each ciphertext sealed by `encrypt_column`; None becomes <NA> (dtype "string").

        Raises VaultDecryptFailed naming the field and the index labels that do not open.
        """
        keys = resident_keys.reindex(ciphertexts.index).astype("string")
        present = ciphertexts.notna().to_numpy()
        field_ad = field.encode("utf-8")
        opened: list[str | None] = [None] * len(ciphertexts)
        failed: list[int] = []
        for pos, c, k in zip(
            present.nonzero()[0].tolist(),
            ciphertexts[present].tolist(),
            keys[present].tolist(),
            strict=True,
        ):
            if k is pd.NA:  # sealed values always carry a resident key
                failed.append(pos)
                continue
            try:
                opened[pos] = self._siv.decrypt(bytes(c), [field_ad, k.encode("utf-8")]).decode()
            except InvalidTag:
                failed.append(pos)
        if failed:
            raise VaultDecryptFailed(field, ciphertexts.index[failed].tolist())
        return pd.Series(opened, index=ciphertexts.index, dtype="string", name=ciphertexts.name)
