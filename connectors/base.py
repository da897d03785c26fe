"""What every connector hands to the pipeline.

A reader yields `RawChunk`s: the department's own columns, every cell as text (or missing),
indexed by the source row number a person would use to find the row (the CSV/XLSX line
number, or the 1-based record ordinal for JSON, SQL and HTTP). `connectors.mapping` turns a
raw chunk into a `MappedChunk`: contract columns with contract types, plus the issues of cells
that could not be parsed. Neither holds more than one chunk of the extract in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

from schemas.issues import ROW_COLUMN, empty_issues


@dataclass
class RawChunk:
    # Department headers as columns; values are str or <NA> (dtype "string");
    # index: int64 source row numbers, unique and increasing.
    frame: pd.DataFrame
    # Rows that could not be parsed at all (wrong field count, bad JSON line, bytes that are
    # not text), column "*"; and issues of cells of rows in `frame` (an XLSX merged cell),
    # column = the department's header. ISSUE_COLUMNS.
    malformed: pd.DataFrame = field(default_factory=empty_issues)

    @property
    def rows_read(self) -> int:
        return len(self.frame) + int((self.malformed["column"] == ROW_COLUMN).sum())


@dataclass
class MappedChunk:
    # Contract columns present in the source, typed per contract column type:
    #   string/category/tags -> "string"; integer -> "Int64"; decimal -> "Float64";
    #   money -> "Int64" (fen, exact); date -> "datetime64[s]"; boolean -> "boolean".
    # Cells that failed to parse are <NA>/NaT and have an issue. Index: source row numbers.
    frame: pd.DataFrame
    issues: pd.DataFrame  # ISSUE_COLUMNS, includes the raw chunk's malformed rows
    rows_read: int


class Reader(Protocol):
    """Reads one extract (file, query or API) in chunks."""

    location: str  # file path or URL without credentials, for messages

    def headers(self) -> list[str]:
        """The department's column headers, read without loading the data."""
        ...

    def chunks(self, chunk_rows: int) -> Iterator[RawChunk]:
        ...
