"""Turning whatever a source holds into the text cells of a `RawChunk`.

Every reader hands the mapping stage text, so that one set of parsers (connectors.parsing)
decides what a number or a date is, whatever the format. The conversions keep numbers exact:
an 18-digit integer stays 18 digits, an integral float loses its ".0", a decimal stays plain.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.errors import ExtractUnreadable
from schemas.issues import ROW_COLUMN, empty_issues, issues_for

MALFORMED_ROW = "malformed_row"
ENCODING = "encoding"  # a line with bytes that are not text in the file's encoding
NUL_BYTE = "nul_byte"  # a line holding a NUL byte, which no text contains
MERGED_CELL = "merged_cell"  # an XLSX cell inside a merged range, for a column not filled
# Lines that fail to decode, over this share of the file (and more than one), mean a wrong
# encoding, not bad lines.
ENCODING_FAILURE_SHARE = 0.05
# Floats are exact integers only below 2**53; above it "12345678901234567" would be invented
# digits, so such values keep their float text (e.g. 1.1010519491231e+17) and the identity
# rules can recognise an ID that Excel turned into a number.
_EXACT_FLOAT_INT = 2.0**53


def normalise_header(name: str) -> str:
    """How headers are compared: NFKC (full-width to half-width), no BOM, no spaces at all
    (clerks pad short headers to line them up: 姓　　名 is 姓名)."""
    return "".join(unicodedata.normalize("NFKC", name).replace("\ufeff", "").split())


def check_header_names(location: str, headers: Sequence[str]) -> None:
    """Empty or duplicate headers make the mapping ambiguous: refuse them up front."""
    empty = [str(i + 1) for i, h in enumerate(headers) if not normalise_header(h)]
    if empty:
        raise ExtractUnreadable(
            location, f"column(s) {', '.join(empty)} of the header have no name",
            "give every column a header (or delete the empty columns) and send it again")
    seen: dict[str, int] = {}
    dupes: list[str] = []
    for i, h in enumerate(headers):
        key = normalise_header(h)
        if key in seen:
            # A file without a header row makes its first data row the "header": long digit
            # runs (an ID number twice in one row) are masked so no identifier is echoed.
            shown = re.sub(r"\d{6,}", "…", key)
            dupes.append(f"'{shown}' (columns {seen[key] + 1} and {i + 1})")
        else:
            seen[key] = i
    if dupes:
        raise ExtractUnreadable(location, f"duplicate headers {', '.join(dupes)}",
                                "rename the columns so every header is unique")


def cell_text(value: Any) -> str | None:
    """One Python value (from openpyxl, json, a DB driver) as the text a person would type."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < _EXACT_FLOAT_INT:
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        if value.is_nan():
            return None
        text = format(value, "f")
        return text
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        spec = "seconds" if value.microsecond == 0 else "microseconds"
        return value.isoformat(sep=" ", timespec=spec)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _float_text(arr: pa.Array) -> pa.Array:
    arr = pc.if_else(pc.is_nan(arr), pa.scalar(None, arr.type), arr)
    integral = pc.and_(pc.equal(pc.floor(arr), arr),
                       pc.less(pc.abs(arr), pa.scalar(_EXACT_FLOAT_INT, arr.type)))
    as_int = pc.cast(pc.if_else(integral, arr, pa.scalar(0.0, arr.type)), pa.int64())
    return pc.if_else(integral, pc.cast(as_int, pa.string()), pc.cast(arr, pa.string()))


def arrow_text(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """An Arrow column as text, vectorised where Arrow can; per cell only for nested values."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if pa.types.is_dictionary(t):
        return arrow_text(arr.dictionary_decode())
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.string())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pc.cast(arr, pa.string())
    if pa.types.is_floating(t):
        return _float_text(pc.cast(arr, pa.float64()))
    if pa.types.is_timestamp(t):
        # Arrow prints fractions of the unit ("09:15:00.000"); a person writes 09:15:00.
        secs = pc.cast(arr, pa.timestamp("s", t.tz), safe=False)
        whole = pc.equal(secs.cast(t), arr)
        midnight = pc.equal(pc.cast(arr, pa.date32()).cast(t), arr)
        return pc.if_else(midnight, pc.strftime(arr, format="%Y-%m-%d"),
                          pc.if_else(whole, pc.strftime(secs, format="%Y-%m-%d %H:%M:%S"),
                                     pc.strftime(arr, format="%Y-%m-%d %H:%M:%S")))
    if (pa.types.is_integer(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t)
            or pa.types.is_date(t) or pa.types.is_time(t)):
        return pc.cast(arr, pa.string())
    return pa.array([cell_text(v) for v in arr.to_pylist()], pa.string())


def values_text(values: list[Any]) -> pa.Array:
    """A column of Python values as text: through Arrow when the types agree, else per cell."""
    try:
        arr = pa.array(values)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return pa.array([cell_text(v) for v in values], pa.string())
    if pa.types.is_decimal(arr.type):  # Arrow pads decimals to one common scale
        return pa.array([cell_text(v) for v in values], pa.string())
    return arrow_text(arr)


def _string_dtype(t: pa.DataType) -> pd.StringDtype | None:
    return pd.StringDtype() if pa.types.is_string(t) else None


def frame_from_arrow(columns: dict[str, pa.Array], index: np.ndarray) -> pd.DataFrame:
    """A RawChunk frame: string columns (pyarrow-backed, <NA> for missing), row-number index."""
    idx = pd.Index(np.asarray(index, dtype="int64"))
    if not columns:
        return pd.DataFrame(index=idx)
    frame = pa.table(columns).to_pandas(types_mapper=_string_dtype)
    frame.index = idx
    return frame


def frame_from_values(columns: dict[str, list[Any]], index: np.ndarray) -> pd.DataFrame:
    return frame_from_arrow({k: values_text(v) for k, v in columns.items()}, index)


def malformed(rows: Sequence[int] | np.ndarray) -> pd.DataFrame:
    return issues_for(rows, ROW_COLUMN, MALFORMED_ROW) if len(rows) else empty_issues()


def line_issues(lines: Sequence[tuple[int, str]]) -> pd.DataFrame:
    """Whole-line issues from (line number, rule) pairs, in line order."""
    if not lines:
        return empty_issues()
    ordered = sorted(lines)
    return pd.DataFrame({
        "source_row": np.asarray([n for n, _ in ordered], dtype=np.int64),
        "column": pd.Series([ROW_COLUMN] * len(ordered), dtype="string"),
        "rule": pd.Series([r for _, r in ordered], dtype="string"),
    })
