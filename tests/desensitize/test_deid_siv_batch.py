"""The batch AES-SIV: RFC 5297 vectors, byte-identity with the library, tamper detection."""

from __future__ import annotations

import secrets

import pandas as pd
import pyarrow as pa
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from hypothesis import given, settings
from hypothesis import strategies as st

import desensitize.siv_batch as siv_batch
from desensitize.errors import VaultDecryptFailed
from desensitize.siv_batch import SivBatch
from desensitize.vault import VaultCipher
from tests.desensitize.test_deid_vault import (
    A1_AD,
    A1_KEY,
    A1_OUTPUT,
    A1_PLAINTEXT,
    A2_AD,
    A2_KEY,
    A2_OUTPUT,
    A2_PLAINTEXT,
)

KEY_SIZES = st.sampled_from([32, 48, 64])
# Text up to 200 characters, CJK and emoji included: up to 800 UTF-8 bytes.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200)


def _library(key: bytes, plaintexts: list[bytes], ad_rows: list[list[bytes]]) -> list[bytes]:
    siv = AESSIV(key)
    return [siv.encrypt(p, ad) for p, ad in zip(plaintexts, ad_rows, strict=True)]


def test_rfc5297_vectors_in_one_batch_with_other_messages() -> None:
    # The vectors sit among messages of other lengths, so grouping and reordering are exercised.
    for key, ad, plaintext, output in [
        (A1_KEY, [A1_AD], A1_PLAINTEXT, A1_OUTPUT),
        (A2_KEY, A2_AD, A2_PLAINTEXT, A2_OUTPUT),
    ]:
        batch = SivBatch(key)
        others = [b"", b"x" * 16, b"y" * 47, plaintext[:3]]
        plaintexts = [others[0], plaintext, *others[1:], plaintext]
        sealed = batch.encrypt(plaintexts, ad).to_pylist()
        assert sealed[1] == output
        assert sealed[-1] == output
        assert sealed == _library(key, plaintexts, [ad] * len(plaintexts))
        opened, ok = batch.decrypt([output, *sealed], ad)
        assert ok.all()
        assert opened.to_pylist() == [plaintext, *plaintexts]


def test_rfc5297_a1_through_the_vault_cipher_batch() -> None:
    # encrypt_column's associated data are [field, resident key] as UTF-8 text; A.1 has one
    # binary item, so the vector goes through the same SivBatch the cipher holds.
    cipher = VaultCipher(A1_KEY)
    assert cipher._batch.encrypt([A1_PLAINTEXT], [A1_AD]).to_pylist() == [A1_OUTPUT]


@settings(max_examples=60, deadline=None)
@given(
    key_size=KEY_SIZES,
    texts=st.lists(TEXT, max_size=25),
    n_items=st.integers(1, 3),
    shared=st.lists(st.booleans(), min_size=3, max_size=3),
    data=st.data(),
)
def test_batch_equals_library_for_any_key_text_and_associated_data(
    key_size: int, texts: list[str], n_items: int, shared: list[bool], data: st.DataObject
) -> None:
    key = secrets.token_bytes(key_size)
    plaintexts = [t.encode() for t in texts]
    n = len(plaintexts)
    items: list[bytes | list[bytes]] = []
    for i in range(n_items):
        if shared[i]:
            items.append(data.draw(st.binary(max_size=40)))
        else:
            items.append(data.draw(st.lists(st.binary(max_size=40), min_size=n, max_size=n)))
    ad_rows = [[it if isinstance(it, bytes) else it[r] for it in items] for r in range(n)]
    batch = SivBatch(key)
    sealed = batch.encrypt(plaintexts, items)
    assert sealed.to_pylist() == _library(key, plaintexts, ad_rows)
    opened, ok = batch.decrypt(sealed, items)
    assert ok.tolist() == [True] * n
    assert opened.to_pylist() == plaintexts


@settings(max_examples=40, deadline=None)
@given(key_size=KEY_SIZES, texts=st.lists(st.one_of(st.none(), TEXT), max_size=20))
def test_encrypt_column_equals_library_seal(key_size: int, texts: list[str | None]) -> None:
    key = secrets.token_bytes(key_size)
    values = pd.Series(texts, dtype="string", index=range(100, 100 + len(texts)))
    residents = pd.Series([f"resident-{i % 3}" for i in range(len(texts))], index=values.index,
                          dtype="string")
    cipher = VaultCipher(key)
    sealed = cipher.encrypt_column(values, "address", residents)
    library = AESSIV(key)
    for value, resident, ct in zip(texts, residents, sealed, strict=True):
        if value is None:
            assert ct is None
        else:
            assert ct == library.encrypt(value.encode(), [b"address", resident.encode()])
    pd.testing.assert_series_equal(cipher.decrypt_column(sealed, "address", residents), values)


def test_every_altered_row_is_reported_and_withheld() -> None:
    key = secrets.token_bytes(64)
    batch = SivBatch(key)
    plaintexts = [b"13812345678", b"", "欧阳娜娜".encode(), b"z" * 40, b"addr" * 9]
    residents = [b"r1", b"r2", b"r3", b"r4", b"r5"]
    sealed = batch.encrypt(plaintexts, [b"phone", residents]).to_pylist()
    altered = list(sealed)
    altered[0] = sealed[0][:-1] + bytes([sealed[0][-1] ^ 1])  # ciphertext body
    altered[3] = bytes([sealed[3][0] ^ 0x80]) + sealed[3][1:]  # the tag itself
    altered[4] = sealed[4][:10]  # shorter than a tag
    opened, ok = batch.decrypt(altered, [b"phone", residents])
    assert ok.tolist() == [False, True, True, False, False]
    assert opened.to_pylist() == [None, b"", "欧阳娜娜".encode(), None, None]

    moved = [b"r1", b"r2", b"r9", b"r4", b"r5"]  # row 2 claimed by another resident
    assert batch.decrypt(sealed, [b"phone", moved])[1].tolist() == [True, True, False, True, True]
    assert not batch.decrypt(sealed, [b"name", residents])[1].any()
    assert not SivBatch(secrets.token_bytes(64)).decrypt(sealed, [b"phone", residents])[1].any()


def test_decrypt_column_names_only_the_rows_that_fail() -> None:
    cipher = VaultCipher(secrets.token_bytes(64))
    values = pd.Series(["张三", None, "李四", "王五"], index=[7, 8, 9, 10], dtype="string")
    keys = pd.Series(["a", "b", "c", "d"], index=values.index, dtype="string")
    sealed = cipher.encrypt_column(values, "name", keys)
    sealed[9] = sealed[9][:-1] + bytes([sealed[9][-1] ^ 1])
    with pytest.raises(VaultDecryptFailed) as info:
        cipher.decrypt_column(sealed, "name", keys)
    assert info.value.rows == [9]
    assert "李四" not in str(info.value)


def test_empty_and_all_missing_input() -> None:
    batch = SivBatch(secrets.token_bytes(32))
    assert batch.encrypt([], [b"f", []]).to_pylist() == []
    opened, ok = batch.decrypt(pa.array([], pa.binary()), [b"f"])
    assert opened.to_pylist() == []
    assert ok.tolist() == []
    cipher = VaultCipher(secrets.token_bytes(64))
    nothing = pd.Series([None, None], dtype="string")
    keys = pd.Series(["a", "b"], dtype="string")
    sealed = cipher.encrypt_column(nothing, "phone", keys)
    assert sealed.tolist() == [None, None]
    assert cipher.decrypt_column(sealed, "phone", keys).isna().all()
    empty = pd.Series([], dtype="string")
    assert cipher.encrypt_column(empty, "phone", empty).empty


def test_batches_larger_than_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(siv_batch, "_SLICE", 3)  # 10 messages: four passes
    key = secrets.token_bytes(48)
    plaintexts = [secrets.token_bytes(i * 5) for i in range(10)]
    residents = pa.chunked_array([["r0", "r1", "r2"], [f"r{i}" for i in range(3, 10)]])
    batch = SivBatch(key)
    sealed = batch.encrypt(plaintexts, [b"f", residents])
    ad_rows = [[b"f", f"r{i}".encode()] for i in range(10)]
    assert sealed.to_pylist() == _library(key, plaintexts, ad_rows)
    opened, ok = batch.decrypt(sealed, [b"f", residents])
    assert ok.all()
    assert opened.to_pylist() == plaintexts


def test_misuse_is_refused_without_values() -> None:
    with pytest.raises(ValueError, match="keys are"):
        SivBatch(b"\x00" * 16)
    batch = SivBatch(secrets.token_bytes(64))
    with pytest.raises(ValueError, match="3 values for 2 messages"):
        batch.encrypt([b"secret-a", b"secret-b"], [[b"1", b"2", b"3"]])
    with pytest.raises(ValueError, match="null") as info:
        batch.encrypt(pa.array([b"secret-a", None]), [b"f"])
    assert "secret" not in str(info.value)
    with pytest.raises(ValueError, match="at most 126"):
        batch.encrypt([b"x"], [b"a"] * 127)
