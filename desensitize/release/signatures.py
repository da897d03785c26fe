"""Integer codes and per-person signatures: the arithmetic under the lattice and the gate.

A released row is a combination of codes (mixed-radix, kept inside int64); a person's
signature is the set of their released rows, hashed as the sum of a well-spread 64-bit hash of
each distinct element (order-free, so a set; collisions among thousands of persons are
negligible at 64 bits).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_INT_LIMIT = 2**62
RECORD_EDGES = ((1, 2, 4, 7, 13, 25), (1, 4, 13))  # as hierarchy.RECORDS


def codes_of(series: pd.Series) -> tuple[np.ndarray, int]:
    values, uniques = pd.factorize(series, use_na_sentinel=False)
    return values.astype(np.int64), max(len(uniques), 1)


def combine(columns: list[tuple[np.ndarray, int]], rows: int) -> tuple[np.ndarray, int]:
    """One code per distinct combination of the columns' codes."""
    key = np.zeros(rows, dtype=np.int64)
    size = 1
    for codes, card in columns:
        if size * card >= _INT_LIMIT:  # keep the mixed-radix key inside int64
            key, uniques = pd.factorize(key)
            size = max(len(uniques), 1)
        key = key * card + codes
        size *= card
    classes, uniques = pd.factorize(key)
    return classes.astype(np.int64), max(len(uniques), 1)


def record_bands(counts: np.ndarray, level: int, top: int) -> np.ndarray:
    """The band of each count at a level of the record-count hierarchy."""
    if level == 0:
        return counts.astype(np.int64)
    if level == top:
        return np.zeros(len(counts), dtype=np.int64)
    edges = np.asarray(RECORD_EDGES[level - 1])
    return (np.searchsorted(edges, counts, side="right") - 1).astype(np.int64)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64: a well-spread 64-bit hash of each value (uint64 arithmetic wraps)."""
    z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def person_sets(persons: np.ndarray, n_persons: int, elements: np.ndarray
                ) -> np.ndarray:
    """A class number per person: persons holding the same set of elements share it (a person
    without element gets -1)."""
    pairs = pd.unique(persons * (int(elements.max(initial=0)) + 1) + elements)
    width = int(elements.max(initial=0)) + 1
    who = np.asarray(pairs) // width
    what = np.asarray(pairs) % width
    signature = np.zeros(n_persons, dtype=np.uint64)
    np.add.at(signature, who, _mix(what))
    has = np.zeros(n_persons, dtype=bool)
    has[who] = True
    out = np.full(n_persons, -1, dtype=np.int64)
    out[has] = pd.factorize(signature[has])[0]
    return out
