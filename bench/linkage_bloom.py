"""Keyed bigram Bloom filters of names, as privacy-preserving record linkage encodes them.

Schnell, Bachteler and Reiher's encoding: a name's letter bigrams (padded with a blank at
each end) each set `k` of `m` bits, positions by double hashing of two keyed digests
(HMAC-SHA256 with two secret keys), so that only a holder of the keys can build or test a
filter; two filters are compared by their Dice coefficient. Chinese names are encoded through
their toneless pinyin (homophones then agree exactly, as in the plaintext comparison).

B11 measures what comparing these instead of the plaintext name forms costs in F1 and time;
the pipeline compares plaintext inside the worker (see docs/benchmarks.md for why).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from typing import Any

import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl

from hub.linkage.spec import FieldSpec, LinkageSpec

BITS = 1000
HASHES = 20
DICE_LEVELS = (0.9, 0.75, 0.6)


def bloom_positions(text: object, key1: bytes, key2: bytes, bits: int = BITS,
                    hashes: int = HASHES) -> list[int] | None:
    """The set bit positions (sorted) of `text`'s bigram Bloom filter; None for no text."""
    if not isinstance(text, str) or not text.strip():
        return None
    padded = f" {text.replace(' ', '').lower()} "
    positions: set[int] = set()
    for i in range(len(padded) - 1):
        gram = padded[i:i + 2].encode("utf-8")
        a = int.from_bytes(hmac.new(key1, gram, hashlib.sha256).digest()[:8], "big")
        b = int.from_bytes(hmac.new(key2, gram, hashlib.sha256).digest()[:8], "big")
        positions.update((a + j * b) % bits for j in range(hashes))
    return sorted(positions)


def encode(frame: pd.DataFrame, columns: dict[str, str], key1: bytes, key2: bytes
           ) -> pd.DataFrame:
    """`frame` with a Bloom filter column `<out>` of each `{source: out}` column."""
    out = frame.copy()
    for source, target in columns.items():
        out[target] = pd.Series([bloom_positions(v, key1, key2) for v in frame[source]],
                                index=frame.index, dtype=object)
    return out


def dice_comparison(name: str, column: str) -> Any:
    """Splink comparison of two filters (lists of positions) by their Dice coefficient."""
    left, right = f'"{column}_l"', f'"{column}_r"'
    dice = (f"2.0 * len(list_intersect({left}, {right})) / "
            f"(len({left}) + len({right}))")
    levels: list[Any] = [cll.NullLevel(column)]
    levels += [cll.CustomLevel(f"{dice} >= {t}", label_for_charts=f"Dice >= {t}")
               for t in DICE_LEVELS]
    return cl.CustomComparison(output_column_name=name, comparison_description=name,
                               comparison_levels=[*levels, cll.ElseLevel()])


def without_fields(spec: LinkageSpec, names: set[str]) -> LinkageSpec:
    """The spec without the named fields (compared on filters instead), prior m dropped:
    the filters' levels are trained by EM like the rest."""
    kept = tuple(FieldSpec(f.name, f.kind, f.column, f.term_frequencies)
                 for f in spec.fields if f.name not in names)
    return replace(spec, fields=kept)
