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


def fullmatch(arr: pa.Array, pattern: str) -> np.ndarray:
    """Boolean mask: the whole value matches the RE2 pattern (missing values: False)."""
    hit = pc.match_substring_regex(arr, f"^(?:{pattern})$")
    return np.asarray(hit.fill_null(False), dtype=bool)


def replace(arr: pa.Array, pattern: str, repl: str) -> pa.Array:
    """RE2 replace-all; `repl` may use \\1-style groups."""
    return pc.replace_substring_regex(arr, pattern=pattern, replacement=repl)


def nfkc(arr: pa.Array) -> pa.Array:
    """NFKC: full-width digits, letters, spaces and hyphens become their ASCII forms."""
    return pc.utf8_normalize(arr, form="NFKC")


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
