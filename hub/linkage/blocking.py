"""Keyed blocking keys: the value of each blocking rule of a record, as a keyed hash.

A blocking rule pairs two records whose expressions are all equal (hub.linkage.spec), so a
record's value of a rule can stand for it in a join: two records pass a rule exactly when
their values agree, and agree under a keyed hash too (a collision of the hash only
adds a pair to score, never loses one). The hashes are HMAC-SHA256 under a key derived
from the vault key, so the warehouse can keep them for every registry resident and find a
new record's possible matches by a join, without holding a name or a birth date: whoever
reads them without the vault key learns nothing but which residents share a value.
A value with a missing part pairs with nothing (SQL equality), so it gets no hash.
"""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pandas as pd

from desensitize.pseudonym import HMAC_MACRO, hmac_pads
from hub.linkage.spec import LinkageSpec

_DOMAIN = b"community-data-hub/linkage-blocks"
_CHECK = b"key check"
HEX_DIGITS = 15
# Blocks are 17-digit numbers: about 56 bits, rarely colliding within a rule at a city's
# scale, and never of the length of an ID number (18) or a phone (11), so that a scan of the
# warehouse for identifiers is not misled by them.
_SPAN, _LOWEST = 9 * 10**16, 10**16
BLOCK_COLUMNS = ("unique_id", "rule", "block")


def block_key(vault_key: bytes) -> bytes:
    """The blocking key, derived from the vault key (a new vault key makes new hashes)."""
    return hmac.digest(vault_key, _DOMAIN, "sha256")


def key_check(key: bytes) -> str:
    """A check value of the key, kept beside the hashes: a different one means rebuild."""
    return hmac.digest(key, _CHECK, "sha256").hex()[:16]


def rule_text(rule: tuple[str, ...]) -> str:
    """One blocking rule as the warehouse names it: its expressions, in order."""
    return " & ".join(rule)


def rules_of(*specs: LinkageSpec) -> tuple[tuple[str, ...], ...]:
    """The blocking rules of the specs, each once, in order."""
    return tuple(dict.fromkeys(rule for spec in specs for rule in spec.blocking))


def keyed_blocks(features: pd.DataFrame, rules: tuple[tuple[str, ...], ...],
                 key: bytes) -> pd.DataFrame:
    """unique_id, rule (rule_text), block (BIGINT) for each record and rule whose
    expressions are all present; `features` as hub.linkage.features.person_features."""
    if features.empty or not rules:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             zip(BLOCK_COLUMNS, ("string", "string", "int64"), strict=True)})
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        con.execute(HMAC_MACRO)  # the pseudonyms' HMAC, composed in SQL
        con.register("records", features)
        parts = []
        for number, rule in enumerate(rules):
            values = [f"CAST(({expr}) AS VARCHAR)" for expr in rule]
            present = " AND ".join(f"{v} IS NOT NULL" for v in values)
            # The rule's text keeps equal values of two rules apart; \x1f separates parts.
            name = rule_text(rule).replace("'", "''")
            message = " || chr(31) || ".join([f"'{name}'", *values])
            parts.append(
                f"SELECT CAST(unique_id AS VARCHAR) AS unique_id, {number} AS rule_number, "
                f"CAST('0x' || left(hmac_sha256($ipad, $opad, encode({message})), "
                f"{HEX_DIGITS}) AS BIGINT) % {_SPAN} + {_LOWEST} AS block "
                f"FROM records WHERE {present}")
        ipad, opad = hmac_pads(key)
        frame = con.execute(" UNION ALL ".join(parts),
                            {"ipad": ipad, "opad": opad}).fetch_df()
    finally:
        con.close()
    names = pd.Series([rule_text(rule) for rule in rules], dtype="string")
    return pd.DataFrame({
        "unique_id": frame["unique_id"].astype("string"),
        "rule": names.iloc[frame["rule_number"].to_numpy()].reset_index(drop=True),
        "block": frame["block"].astype("int64"),
    })


def rules_digest(rules: tuple[tuple[str, ...], ...]) -> str:
    """What the kept hashes were made from: new rules in a spec mean rebuild."""
    return hashlib.sha256("\n".join(rule_text(r) for r in rules).encode()).hexdigest()[:16]
