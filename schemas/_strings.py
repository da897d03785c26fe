"""Vectorised string helpers on Arrow arrays, shared by the identity rules and the validator.

Why not pandas `.str`: for a regex that uses `\\s`, a `$` anchor, a backreference or `\\d` on
non-ASCII text, pandas quietly falls back to Python's `re`, one row at a time. These helpers
call pyarrow's RE2 kernels directly, so patterns here are RE2: `\\d` is ASCII digits only
(which is what ID numbers need after NFKC), `[[:space:]]` is ASCII whitespace, and Unicode
characters are written `\\x{2010}`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_STRING = pd.StringDtype("pyarrow", na_value=pd.NA)


def as_string(values: pd.Series) -> pd.Series:
    """The column as pandas "string" (pyarrow-backed, <NA> for missing), same index."""
    if values.dtype == _STRING:
        return values
    return values.astype(_STRING)


def to_arrow(values: pd.Series) -> pa.LargeStringArray:
    arr = pa.array(as_string(values), type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def to_series(arr: pa.Array, index: pd.Index) -> pd.Series:
    """A "string" Series over an Arrow string array."""
    arr = arr.cast(pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=index, dtype=_STRING)


def _ascii_digits(arr: pa.Array, length: int) -> pa.Array:
    """`\\d{length}` without the regex engine: byte length, then ASCII decimals only."""
    return pc.and_(pc.equal(pc.binary_length(arr), length), pc.ascii_is_decimal(arr))


# Exact equivalents of the digit patterns the identity rules test on every row, without the
# regex engine (B7 in docs/benchmarks.md measures the validation they serve).
_DIGIT_PATTERNS = {
    r"\d{15}": lambda a: _ascii_digits(a, 15),
    r"\d{17}": lambda a: _ascii_digits(a, 17),
    r"\d{17}[\dX]": lambda a: pc.and_(
        pc.equal(pc.binary_length(a), 18),
        pc.or_(pc.ascii_is_decimal(a),
               pc.and_(pc.ends_with(a, "X"),
                       pc.ascii_is_decimal(pc.utf8_slice_codeunits(a, 0, 17))))),
}


def fullmatch(arr: pa.Array, pattern: str, known: pa.Array | None = None) -> np.ndarray:
    """Boolean mask: the whole value matches the RE2 pattern (missing values: False).

    `known`, optional, marks rows already known to match (e.g. a value from the vocabulary):
    only the others go through the regex engine."""
    fast = _DIGIT_PATTERNS.get(pattern)
    if fast is not None:
        return np.asarray(fast(arr).fill_null(False), dtype=bool)
    if known is not None:
        known_mask = np.asarray(known.fill_null(False), dtype=bool)
        out = known_mask.copy()
        rest = ~known_mask
        if rest.any():
            out[rest] = fullmatch(arr.filter(pa.array(rest)), pattern)
        return out
    hit = pc.match_substring_regex(arr, f"^(?:{pattern})$")
    return np.asarray(hit.fill_null(False), dtype=bool)


def replace(arr: pa.Array, pattern: str, repl: str, only: pa.Array | None = None) -> pa.Array:
    """RE2 replace-all; `repl` may use \\1-style groups.

    `only`, optional, marks the rows the pattern can change (a cheap test such as "holds a
    dot"): the regex runs on those rows only. The caller keeps it exact: a row outside it
    must be one the pattern leaves as it is."""
    if only is None:
        return pc.replace_substring_regex(arr, pattern=pattern, replacement=repl)
    mask = only.fill_null(False)
    count = pc.sum(mask).as_py() or 0
    if count == 0:
        return arr
    if count == len(arr):
        return pc.replace_substring_regex(arr, pattern=pattern, replacement=repl)
    changed = pc.replace_substring_regex(arr.filter(mask), pattern=pattern, replacement=repl)
    return pc.replace_with_mask(arr, mask, changed.cast(arr.type))


def not_ascii_digits(arr: pa.Array) -> pa.Array:
    """Rows holding anything but ASCII digits (for `replace(only=...)` of separators)."""
    return pc.invert(pc.ascii_is_decimal(arr))


def nfkc(arr: pa.Array) -> pa.Array:
    """NFKC: full-width digits, letters, spaces and hyphens become their ASCII forms.

    ASCII text is its own NFKC form, so only the other rows are normalised."""
    other = pc.invert(pc.string_is_ascii(arr)).fill_null(False)
    count = pc.sum(other).as_py() or 0
    if count == 0:
        return arr
    if count == len(arr):
        return pc.utf8_normalize(arr, form="NFKC")
    done = pc.utf8_normalize(arr.filter(other), form="NFKC")
    return pc.replace_with_mask(arr, other, done.cast(arr.type))


def blank_to_null(arr: pa.Array) -> pa.Array:
    empty = pc.equal(pc.utf8_length(arr), 0)
    return pc.if_else(empty, pa.scalar(None, pa.large_string()), arr)


def mask_to_null(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, arr.type), arr)


def char_matrix(arr: pa.Array, width: int) -> np.ndarray:
    """(n, width) uint8 matrix of the ASCII codes of strings that all have `width` ASCII chars.

    Reads the Arrow data buffer directly: no per-row Python work. Callers select the rows
    with a regex first, so every value is known to be `width` ASCII characters long.
    """
    n = len(arr)
    if n == 0:
        return np.empty((0, width), dtype=np.uint8)
    arr = arr.cast(pa.large_string())
    if arr.null_count:
        raise ValueError("char_matrix needs values without missing ones")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    if end - start != n * width:
        raise ValueError(f"char_matrix needs values of exactly {width} ASCII characters")
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return data[start:end].reshape(n, width)


def from_chars(mat: np.ndarray) -> pa.LargeStringArray:
    """The inverse of `char_matrix`: one string per row of an (n, width) ASCII matrix."""
    n, width = mat.shape
    offsets = np.arange(n + 1, dtype=np.int64) * width
    data = np.ascontiguousarray(mat, dtype=np.uint8)
    return pa.Array.from_buffers(pa.large_string(), n,
                                 [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def codes_to_rules(codes: np.ndarray, names: Sequence[str | None], index: pd.Index) -> pd.Series:
    """Map small integer codes to names ("string" dtype); code 0 (name None) means <NA>."""
    codes = np.asarray(codes, dtype=np.int64)
    dictionary = pa.array([name or "" for name in names], type=pa.large_string())
    return to_series(dictionary.take(pa.array(codes, mask=codes == 0)), index)
