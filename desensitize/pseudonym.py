"""Keyed pseudonyms: HMAC-SHA256 computed column-wise inside an in-memory DuckDB.

A bare hash of an ID number is no pseudonym: the ID space (area x birth date x sequence) is
small enough to enumerate. The pseudonym is therefore keyed, and each domain (the contract
column: resident_id, household_id, ...) gets its own subkey so that values of two domains
never share pseudonyms.

DuckDB has sha256 but no HMAC, so HMAC is composed per RFC 2104:
    HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m))
K ^ ipad and K ^ opad are computed here in Python and bound as BLOB parameters of each query:
the key never appears in SQL text, in a table or in the catalog of the connection.
"""

from __future__ import annotations

import hashlib
import hmac
from types import TracebackType

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from desensitize.errors import KeyLengthInvalid

DOMAIN_PREFIX = b"community-data-hub/pseudonym/"
PSEUDONYM_HEX_CHARS = 32  # first 128 bits of the HMAC: collision-free at any city's scale
_BLOCK = 64  # SHA-256 block size in bytes
_INPUT = "hmac_input"

# sha256() returns hex text; unhex() turns the inner digest back into the 32 bytes HMAC needs.
HMAC_MACRO = ("CREATE MACRO hmac_sha256(ipad, opad, msg) AS "
              "sha256(opad || unhex(sha256(ipad || msg)))")
_QUERY = f"SELECT left(hmac_sha256($ipad, $opad, m), $chars) AS h FROM {_INPUT}"


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """K ^ ipad and K ^ opad, the parameters of the hmac_sha256 macro (HMAC_MACRO)."""
    if len(key) > _BLOCK:  # RFC 2104: long keys are hashed first
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


class _HmacEngine:
    """One in-memory DuckDB connection holding the HMAC macro (and no key)."""

    def __init__(self) -> None:
        self._con: duckdb.DuckDBPyConnection | None = duckdb.connect(
            ":memory:",
            config={"autoinstall_known_extensions": False, "preserve_insertion_order": True},
        )
        self._con.execute(HMAC_MACRO)

    def hex_digests(self, key: bytes, messages: pa.Array | pa.ChunkedArray, chars: int) -> pa.Array:
        """Hex HMAC-SHA256 of each binary message (null stays null), in input order."""
        if self._con is None:
            raise RuntimeError("pseudonymiser is closed")
        ipad, opad = hmac_pads(key)
        table = pa.table({"m": messages})
        self._con.register(_INPUT, table)
        try:
            rel = self._con.sql(_QUERY, params={"ipad": ipad, "opad": opad, "chars": chars})
            result = rel.to_arrow_table()
        finally:
            self._con.unregister(_INPUT)
        return result.column("h").combine_chunks()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def _as_binary(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    target = pa.large_binary() if pa.types.is_large_string(values.type) else pa.binary()
    return pc.cast(values, target)  # UTF-8 bytes as they are: a zero-copy reinterpretation


def hmac_sha256_hex(key: bytes, messages: list[bytes]) -> list[str]:
    """Full hex HMAC-SHA256 of each message, through the same SQL macro as the pseudonyms."""
    engine = _HmacEngine()
    try:
        digests = engine.hex_digests(
            key, pa.array(messages, pa.binary()), 2 * hashlib.sha256().digest_size
        )
    finally:
        engine.close()
    return [str(d) for d in digests.to_pylist()]


class Pseudonymiser:
    """Turns identifiers into stable keyed pseudonyms, one subkey per domain.

    Not thread-safe (one DuckDB connection per instance): give each thread its own.
    """

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) < 32:  # below 256 bits the HMAC key is the weak link
            raise KeyLengthInvalid("pseudonym", len(master_key), [32])
        self._master_key = master_key
        self._subkeys: dict[str, bytes] = {}
        self._engine = _HmacEngine()

    def __repr__(self) -> str:
        return "Pseudonymiser(master_key=<hidden>)"

    def _subkey(self, domain: str) -> bytes:
        if domain not in self._subkeys:
            self._subkeys[domain] = hmac.digest(
                self._master_key, DOMAIN_PREFIX + domain.encode("utf-8"), "sha256"
            )
        return self._subkeys[domain]

    def pseudonymise(self, values: pd.Series, domain: str) -> pd.Series:
        """32 lower-case hex chars per value; <NA> stays <NA>; index and name preserved."""
        strings = values if isinstance(values.dtype, pd.StringDtype) else values.astype("string")
        arrow = pa.array(strings.array, from_pandas=True)
        if not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
            arrow = pc.cast(arrow, pa.large_string())
        digests = self._engine.hex_digests(
            self._subkey(domain), _as_binary(arrow), PSEUDONYM_HEX_CHARS
        )
        return pd.Series(pd.array(digests, dtype="string"), index=values.index, name=values.name)

    def close(self) -> None:
        self._engine.close()

    def __del__(self) -> None:
        engine = getattr(self, "_engine", None)
        if engine is not None:
            engine.close()

    def __enter__(self) -> Pseudonymiser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
