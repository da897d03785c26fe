"""Keyed pseudonyms: HMAC-SHA256 in DuckDB, checked against RFC 4231 and Python's hmac."""

from __future__ import annotations

import hmac
import re
import secrets

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desensitize.errors import KeyLengthInvalid
from desensitize.pseudonym import DOMAIN_PREFIX, Pseudonymiser, hmac_sha256_hex

# RFC 4231 section 4: (key, data, HMAC-SHA-256). Case 5 lists only the first 128 bits.
RFC4231 = [
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (
        b"\xaa" * 20,
        b"\xdd" * 50,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ),
    (
        bytes(range(1, 26)),
        b"\xcd" * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ),
    (b"\x0c" * 20, b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
    (
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        b"\xaa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size data."
        b" The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
]

IDS = pd.Series(
    ["110105194912310021", pd.NA, "44030419900307001X", "110105194912310021"],
    index=pd.Index([7, 3, 12, 40], dtype="int64"),
    dtype="string",
    name="resident_id",
)


@pytest.mark.parametrize(
    ("key", "data", "expected"), RFC4231, ids=[f"case{i}" for i in range(1, 8)]
)
def test_rfc4231_vectors(key: bytes, data: bytes, expected: str) -> None:
    [digest] = hmac_sha256_hex(key, [data])
    assert digest[: len(expected)] == expected


def test_all_rfc4231_vectors_in_one_column() -> None:
    digests = hmac_sha256_hex(b"\xaa" * 20, [c[1] for c in RFC4231] + [b""])
    assert digests[2] == RFC4231[2][2]
    assert digests[-1] == hmac.new(b"\xaa" * 20, b"", "sha256").hexdigest()


@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=0, max_size=200),
    messages=st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=20),
)
def test_hmac_matches_python_hmac(key: bytes, messages: list[bytes]) -> None:
    expected = [hmac.new(key, m, "sha256").hexdigest() for m in messages]
    assert hmac_sha256_hex(key, messages) == expected


@pytest.fixture
def pseudonymiser() -> Pseudonymiser:
    return Pseudonymiser(secrets.token_bytes(32))


def test_pseudonym_shape_nulls_and_index(pseudonymiser: Pseudonymiser) -> None:
    out = pseudonymiser.pseudonymise(IDS, domain="resident_id")
    assert out.dtype == "string"
    assert out.index.equals(IDS.index)
    assert out.name == "resident_id"
    assert out.isna().tolist() == [False, True, False, False]
    assert all(re.fullmatch(r"[0-9a-f]{32}", v) for v in out.dropna())
    assert out[7] == out[40]  # the same person twice gets the same key
    assert out[7] != out[12]


def test_pseudonym_is_the_documented_keyed_construction() -> None:
    """Other components (the look-up API) must be able to compute the same resident key."""
    master = secrets.token_bytes(32)
    subkey = hmac.digest(master, DOMAIN_PREFIX + b"resident_id", "sha256")
    value = "11010519491231002X"
    expected = hmac.new(subkey, value.encode("utf-8"), "sha256").hexdigest()[:32]
    with Pseudonymiser(master) as p:
        got = p.pseudonymise(pd.Series([value], dtype="string"), "resident_id")
    assert got.iloc[0] == expected


def test_stable_across_instances_with_the_same_key() -> None:
    key = secrets.token_bytes(32)
    with Pseudonymiser(key) as a, Pseudonymiser(key) as b:
        pd.testing.assert_series_equal(
            a.pseudonymise(IDS, "resident_id"), b.pseudonymise(IDS, "resident_id")
        )


def test_different_keys_give_unrelated_pseudonyms() -> None:
    with Pseudonymiser(secrets.token_bytes(32)) as a, Pseudonymiser(secrets.token_bytes(32)) as b:
        left = a.pseudonymise(IDS, "resident_id").dropna()
        right = b.pseudonymise(IDS, "resident_id").dropna()
    assert not set(left) & set(right)


def test_domains_do_not_share_pseudonyms(pseudonymiser: Pseudonymiser) -> None:
    same = pd.Series(["H0001", "110105194912310021"], dtype="string")
    households = pseudonymiser.pseudonymise(same, "household_id")
    residents = pseudonymiser.pseudonymise(same, "resident_id")
    assert not set(households) & set(residents)


def test_unkeyed_hash_is_not_the_pseudonym(pseudonymiser: Pseudonymiser) -> None:
    import hashlib

    value = "110105194912310021"
    out = pseudonymiser.pseudonymise(pd.Series([value], dtype="string"), "resident_id")
    assert not hashlib.sha256(value.encode()).hexdigest().startswith(out.iloc[0])


def test_chinese_text_is_hashed_as_utf8() -> None:
    master = secrets.token_bytes(32)
    subkey = hmac.digest(master, DOMAIN_PREFIX + b"household_id", "sha256")
    with Pseudonymiser(master) as p:
        got = p.pseudonymise(pd.Series(["朝阳区户001"], dtype="string"), "household_id")
    assert got.iloc[0] == hmac.new(subkey, "朝阳区户001".encode(), "sha256").hexdigest()[:32]


def test_object_and_empty_inputs(pseudonymiser: Pseudonymiser) -> None:
    obj = pd.Series(["a", None], dtype=object)
    out = pseudonymiser.pseudonymise(obj, "d")
    assert out.dtype == "string"
    assert out.isna().tolist() == [False, True]
    empty = pseudonymiser.pseudonymise(pd.Series([], dtype="string"), "d")
    assert empty.dtype == "string"
    assert len(empty) == 0


def test_many_rows_keep_their_order(pseudonymiser: Pseudonymiser) -> None:
    values = pd.Series([f"{i:018d}" for i in range(50_000)], dtype="string")
    out = pseudonymiser.pseudonymise(values, "resident_id")
    subkey = pseudonymiser._subkey("resident_id")
    for pos in (0, 1, 12_345, 49_999):
        expected = hmac.new(subkey, values.iloc[pos].encode(), "sha256").hexdigest()[:32]
        assert out.iloc[pos] == expected


def test_key_is_not_kept_in_the_database(pseudonymiser: Pseudonymiser) -> None:
    pseudonymiser.pseudonymise(IDS, "resident_id")
    con = pseudonymiser._engine._con
    assert con is not None
    tables = con.sql(
        "SELECT (SELECT count(*) FROM duckdb_tables()) + (SELECT count(*) FROM duckdb_views() "
        "WHERE NOT internal)"
    ).fetchall()
    assert tables == [(0,)]
    macros = con.sql(
        "SELECT string_agg(macro_definition, ' ') FROM duckdb_functions() "
        "WHERE function_name = 'hmac_sha256'"
    ).fetchall()
    definition = str(macros[0][0])
    assert "sha256" in definition
    assert "BLOB" not in definition.upper()  # no key literal: the pads arrive as parameters
    assert pseudonymiser._subkey("resident_id").hex() not in definition


def test_short_key_is_refused() -> None:
    with pytest.raises(KeyLengthInvalid):
        Pseudonymiser(b"\x01" * 16)


def test_closed_pseudonymiser_refuses_work() -> None:
    with Pseudonymiser(secrets.token_bytes(32)) as p:
        pass
    with pytest.raises((RuntimeError, duckdb.Error)):
        p.pseudonymise(IDS, "resident_id")


def test_repr_hides_key() -> None:
    key = secrets.token_bytes(32)
    assert key.hex() not in repr(Pseudonymiser(key))
