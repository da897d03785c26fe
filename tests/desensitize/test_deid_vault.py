"""The vault cipher: RFC 5297 vectors, binding to resident and field, column round trips."""

from __future__ import annotations

import secrets

import pandas as pd
import pytest

from desensitize.errors import KeyLengthInvalid, VaultDecryptFailed, VaultResidentMissing
from desensitize.vault import VaultCipher

# RFC 5297 appendix A.1 (deterministic authenticated encryption, AES-SIV-CMAC-256).
A1_KEY = bytes.fromhex("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
A1_AD = bytes.fromhex("101112131415161718191a1b1c1d1e1f2021222324252627")
A1_PLAINTEXT = bytes.fromhex("112233445566778899aabbccddee")
A1_OUTPUT = bytes.fromhex("85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c")

# RFC 5297 appendix A.2 (two associated data items, the nonce as the last one).
A2_KEY = bytes.fromhex("7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f")
A2_AD = [
    bytes.fromhex(
        "00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa99887766554433221100"
    ),
    bytes.fromhex("102030405060708090a0"),
    bytes.fromhex("09f911029d74e35bd84156c5635688c0"),
]
A2_PLAINTEXT = b"this is some plaintext to encrypt using SIV-AES"
A2_OUTPUT = bytes.fromhex(
    "7bdb6e3b432667eb06f4d14bff2fbd0f"
    "cb900f2fddbe404326601965c889bf17dba77ceb094fa663b7a3f748ba8af829ea64ad544a272e9c485b62a3fd5c0d"
)

NAMES = pd.Series(["张三", pd.NA, "欧阳娜娜", "张三"], index=[10, 11, 12, 13], dtype="string")
KEYS = pd.Series(["k-a", "k-b", "k-c", "k-d"], index=[10, 11, 12, 13], dtype="string")


@pytest.fixture
def cipher() -> VaultCipher:
    return VaultCipher(secrets.token_bytes(64))


def test_rfc5297_a1_deterministic_example() -> None:
    cipher = VaultCipher(A1_KEY)
    assert cipher.seal(A1_PLAINTEXT, [A1_AD]) == A1_OUTPUT
    assert cipher.open(A1_OUTPUT, [A1_AD]) == A1_PLAINTEXT


def test_rfc5297_a2_several_associated_items() -> None:
    cipher = VaultCipher(A2_KEY)
    assert cipher.seal(A2_PLAINTEXT, A2_AD) == A2_OUTPUT
    assert cipher.open(A2_OUTPUT, A2_AD) == A2_PLAINTEXT


def test_open_refuses_altered_ciphertext_or_context(cipher: VaultCipher) -> None:
    sealed = cipher.seal(b"13812345678", [b"phone", b"resident-1"])
    assert cipher.open(sealed, [b"phone", b"resident-1"]) == b"13812345678"
    altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for ct, ad in [
        (altered, [b"phone", b"resident-1"]),
        (sealed, [b"phone", b"resident-2"]),
        (sealed, [b"name", b"resident-1"]),
        (sealed, [b"resident-1", b"phone"]),
    ]:
        with pytest.raises(VaultDecryptFailed) as info:
            cipher.open(ct, ad)
        assert "13812345678" not in str(info.value)


def test_sealing_is_deterministic_and_bound_to_resident_and_field(cipher: VaultCipher) -> None:
    same_key = pd.Series(["k"] * 4, index=NAMES.index, dtype="string")
    sealed = cipher.encrypt_column(NAMES, "name", same_key)
    assert sealed[10] == sealed[13]  # same value, resident and field: one vault entry
    other_resident = cipher.encrypt_column(NAMES, "name", KEYS)
    assert other_resident[10] != other_resident[13]
    other_field = cipher.encrypt_column(NAMES, "address", same_key)
    assert other_field[10] != sealed[10]


def test_column_round_trip_keeps_index_and_nulls(cipher: VaultCipher) -> None:
    sealed = cipher.encrypt_column(NAMES, "name", KEYS)
    assert sealed.dtype == object
    assert sealed.index.equals(NAMES.index)
    assert sealed[11] is None
    assert all(isinstance(v, bytes) for v in sealed.drop(11))
    for value, ct in zip(NAMES.dropna(), sealed.dropna(), strict=True):
        assert value.encode() not in ct
    opened = cipher.decrypt_column(sealed, "name", KEYS)
    pd.testing.assert_series_equal(opened, NAMES)


def test_swapped_resident_keys_do_not_decrypt(cipher: VaultCipher) -> None:
    sealed = cipher.encrypt_column(NAMES, "name", KEYS)
    swapped = pd.Series(["k-c", "k-b", "k-a", "k-d"], index=KEYS.index, dtype="string")
    with pytest.raises(VaultDecryptFailed) as info:
        cipher.decrypt_column(sealed, "name", swapped)
    assert info.value.rows == [10, 12]
    assert info.value.field == "name"
    assert "张三" not in str(info.value)
    assert "10, 12" in str(info.value)


def test_ciphertext_moved_to_another_field_does_not_decrypt(cipher: VaultCipher) -> None:
    sealed = cipher.encrypt_column(NAMES, "name", KEYS)
    with pytest.raises(VaultDecryptFailed):
        cipher.decrypt_column(sealed, "address", KEYS)


def test_other_vault_key_does_not_decrypt(cipher: VaultCipher) -> None:
    sealed = cipher.encrypt_column(NAMES, "name", KEYS)
    with pytest.raises(VaultDecryptFailed):
        VaultCipher(secrets.token_bytes(64)).decrypt_column(sealed, "name", KEYS)


def test_value_without_resident_key_is_refused(cipher: VaultCipher) -> None:
    # row 11 has no value either: nothing to seal there, so only row 12 is in the way
    keys = KEYS.where(~KEYS.index.isin([11, 12]))
    with pytest.raises(VaultResidentMissing) as info:
        cipher.encrypt_column(NAMES, "name", keys)
    assert info.value.rows == [12]
    assert "欧阳娜娜" not in str(info.value)


def test_dates_are_sealed_as_iso_text(cipher: VaultCipher) -> None:
    dates = pd.Series(["1949-12-31", None], dtype="datetime64[s]")
    keys = pd.Series(["k1", "k2"], dtype="string")
    opened = cipher.decrypt_column(
        cipher.encrypt_column(dates, "birth_date", keys), "birth_date", keys
    )
    assert opened.tolist()[0] == "1949-12-31"
    assert opened.isna().tolist() == [False, True]


@pytest.mark.parametrize("size", [0, 16, 63, 65])
def test_wrong_key_size_is_refused(size: int) -> None:
    with pytest.raises(KeyLengthInvalid):
        VaultCipher(b"\x00" * size)


def test_repr_hides_key() -> None:
    key = secrets.token_bytes(64)
    assert key.hex() not in repr(VaultCipher(key))
