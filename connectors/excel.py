"""XLSX workbooks, read as a person reads them, row by row (openpyxl read-only mode) so a
large sheet never sits in memory. openpyxl parses every cell in Python anyway, so the loop per
row here costs little next to it; numbers keep their exact digits (connectors.cells.cell_text).

A person sees the visible sheets: a hidden one (last month's data, a lookup list) is read only
when the source names it, and a workbook with data on several visible sheets is refused unless
the source says which. A merged cell shows its value across its whole range: columns the source
marks `fill_merged` get it in every row, others get a row issue. The archive's declared sizes
are checked before openpyxl inflates anything (a small file can declare gigabytes).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook

from connectors.base import RawChunk
from connectors.cells import (
    MALFORMED_ROW,
    MERGED_CELL,
    cell_text,
    check_header_names,
    frame_from_values,
    line_issues,
    normalise_header,
)
from connectors.errors import ExtractUnreadable, WorkbookTooLarge
from connectors.sniff import check_file
from connectors.source import SourceSpec
from schemas.issues import concat_issues

# What a damaged or foreign file raises inside openpyxl / zipfile / the XML parser: while
# reading the row stream, and (anything, openpyxl trusts its input) while opening.
_BROKEN_STREAM: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zlib.error, EOFError, OSError, ParseError, KeyError, ValueError)
try:  # lxml, when installed, raises its own syntax error
    from lxml.etree import XMLSyntaxError

    _BROKEN_STREAM = (*_BROKEN_STREAM, XMLSyntaxError)
except ImportError:  # pragma: no cover
    pass
_BROKEN_OPEN = (*_BROKEN_STREAM, InvalidFileException, TypeError, IndexError, AttributeError)

MAX_UNCOMPRESSED_BYTES = 2 * 1024**3  # every part of the workbook, inflated
MAX_SHARED_STRINGS_BYTES = 64 * 1024**2  # openpyxl holds the shared strings in memory
MAX_SHARED_STRINGS = 2_000_000
_COUNT = re.compile(rb'uniqueCount="(\d+)"|count="(\d+)"')
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_SCAN_BLOCK = 1 << 20
# A merged range: (first row, last row, first column, last column), columns 0-based.
Merged = tuple[int, int, int, int]


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def check_archive(location: str, path: Path) -> None:
    """WorkbookTooLarge when the archive declares more than the hub will inflate."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            total = sum(p.file_size for p in parts)
            if total > MAX_UNCOMPRESSED_BYTES:
                raise WorkbookTooLarge(location, f"the workbook unpacks to {total:,} bytes, over "
                                       f"the limit of {MAX_UNCOMPRESSED_BYTES:,}")
            for part in parts:
                if not part.filename.lower().endswith("sharedstrings.xml"):
                    continue
                if part.file_size > MAX_SHARED_STRINGS_BYTES:
                    raise WorkbookTooLarge(
                        location, f"its shared strings unpack to {part.file_size:,} bytes, "
                        f"over the limit of {MAX_SHARED_STRINGS_BYTES:,}")
                with archive.open(part) as fh:
                    head = fh.read(4096)
                counts = [int(a or b) for a, b in _COUNT.findall(head)]
                if counts and max(counts) > MAX_SHARED_STRINGS:
                    raise WorkbookTooLarge(
                        location, f"it declares {max(counts):,} shared strings, over the limit "
                        f"of {MAX_SHARED_STRINGS:,}")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
        return  # openpyxl names a damaged workbook with the usual message


class XlsxReader:
    def __init__(self, path: Path, spec: SourceSpec, max_bytes: int) -> None:
        self.path = path
        self.location = str(path)
        self._sheet = spec.sheet
        self._header_row = spec.header_row
        self._fill = {normalise_header(m.from_) for c in spec.columns
                      if (m := spec.mapping(c)) is not None and m.fill_merged and m.from_}
        self._merged: list[Merged] = []
        check_file(path, max_bytes)
        check_archive(self.location, path)
        with self._open() as rows:
            self._headers = self._read_header(rows)
        check_header_names(self.location, self._headers)

    def headers(self) -> list[str]:
        return list(self._headers)

    def leading_rows(self, limit: int = 30) -> list[list[str]]:
        """The sheet's first rows as cells (to find a header below a title)."""
        header_row, self._header_row = self._header_row, 1
        try:
            with self._open() as rows:
                return [[cell_text(v) or "" for v in row]
                        for _, row in zip(range(limit), rows, strict=False)]
        except _BROKEN_STREAM:
            return []
        finally:
            self._header_row = header_row

    def _broken(self, exc: BaseException) -> ExtractUnreadable:
        return ExtractUnreadable(
            self.location, f"truncated or not an XLSX workbook ({exc.__class__.__name__})",
            "open it in Excel or WPS and save it again as .xlsx, or export CSV")

    @contextmanager
    def _open(self) -> Iterator[Iterator[tuple[Any, ...]]]:
        """The rows of the sheet from the header row on (a file object, so that openpyxl
        does not judge the workbook by its file name)."""
        with self.path.open("rb") as fh:
            try:
                book = openpyxl.load_workbook(fh, read_only=True, data_only=True)
            except _BROKEN_OPEN as exc:
                raise self._broken(exc) from exc
            try:
                yield self._sheet_rows(book)
            finally:
                book.close()

    def _no_sheet(self, problem: str, names: list[str]) -> ExtractUnreadable:
        return ExtractUnreadable(self.location, problem,
                                 f"the workbook has the visible sheets {names}; keep the data "
                                 "on one sheet, or ask the hub's administrator which sheet "
                                 "the source should read")

    def _choose_sheet(self, book: Workbook) -> str:
        names = book.sheetnames
        visible = [n for n in names if book[n].sheet_state == "visible"]
        sheet = self._sheet
        if isinstance(sheet, str):
            if sheet not in names:
                raise self._no_sheet(f"there is no sheet named '{sheet}'", visible)
            return sheet
        if isinstance(sheet, int):
            if not 0 <= sheet < len(visible):
                raise self._no_sheet(f"there is no visible sheet number {sheet + 1}", visible)
            return visible[sheet]
        if len(visible) == 1:
            return visible[0]
        filled = [n for n in visible if self._has_cells(book, n)]
        if len(filled) > 1:
            raise self._no_sheet(f"{len(filled)} visible sheets hold data ({', '.join(filled)}): "
                                 "the hub will not guess which one, nor load only one", visible)
        if filled:
            return filled[0]
        if not visible:
            raise self._no_sheet("every sheet is hidden", visible)
        return visible[0]

    @staticmethod
    def _has_cells(book: Workbook, name: str) -> bool:
        ws = book[name]
        ws.reset_dimensions()
        return any(any(v is not None and v != "" for v in row)
                   for row in ws.iter_rows(values_only=True))

    def _sheet_rows(self, book: Workbook) -> Iterator[tuple[Any, ...]]:
        ws = book[self._choose_sheet(book)]
        self._merged = self._merged_ranges(book, getattr(ws, "_worksheet_path", ""))
        ws.reset_dimensions()  # stored dimensions are often wrong; read the real cells
        rows: Iterator[tuple[Any, ...]] = ws.iter_rows(min_row=self._header_row, values_only=True)
        return rows

    def _merged_ranges(self, book: Workbook, part: str) -> list[Merged]:
        """Merged ranges below the header (they are listed after the rows, so the sheet's XML
        is scanned once for them before the rows are read)."""
        archive = getattr(book, "_archive", None)
        if archive is None or not part:
            return []
        found: list[Merged] = []
        tail = b""
        with archive.open(part) as fh:
            while block := fh.read(_SCAN_BLOCK):
                data = tail + block
                for m in _MERGE.finditer(data):
                    c1, r1, c2, r2 = m.groups()
                    last_col, last_row = (c2, r2) if c2 else (c1, r1)
                    found.append((int(r1), int(last_row), _column_index(c1),
                                  _column_index(last_col)))
                tail = data[-200:]
                cut = tail.rfind(b"<")
                tail = tail[cut:] if cut >= 0 else b""
        unique = sorted(set(found))
        return [r for r in unique if r[1] > self._header_row]

    def _read_header(self, rows: Iterator[tuple[Any, ...]]) -> list[str]:
        try:
            first = next(rows, None)
        except _BROKEN_STREAM as exc:
            raise self._broken(exc) from exc
        cells = [cell_text(v) or "" for v in (first or ())]
        while cells and not cells[-1].strip():
            cells.pop()  # trailing empty cells are formatting, not columns
        if not cells:
            raise ExtractUnreadable(self.location, f"row {self._header_row} (the header) is empty",
                                    "if the data starts lower or on another sheet, ask the "
                                    "hub's administrator to set the source's header row or "
                                    "sheet")
        return cells

    def chunks(self, chunk_rows: int) -> Iterator[RawChunk]:
        width = len(self._headers)
        with self._open() as rows:
            try:
                next(rows, None)  # the header
                yield from self._chunks(rows, width, chunk_rows)
            except _BROKEN_STREAM as exc:
                raise self._broken(exc) from exc

    def _merged_cells(self, width: int) -> dict[int, list[tuple[int, int]]]:
        """Row -> (column, range id) for every covered cell but the top-left one."""
        out: dict[int, list[tuple[int, int]]] = {}
        for rid, (r1, r2, c1, c2) in enumerate(self._merged):
            for row in range(max(r1, self._header_row + 1), r2 + 1):
                for col in range(c1, min(c2, width - 1) + 1):
                    if (row, col) != (r1, c1):
                        out.setdefault(row, []).append((col, rid))
        return out

    def _chunks(self, rows: Iterator[tuple[Any, ...]], width: int,
                chunk_rows: int) -> Iterator[RawChunk]:
        columns: list[list[Any]] = [[] for _ in range(width)]
        numbers: list[int] = []
        bad: list[tuple[int, str]] = []
        merged_issues: list[tuple[int, str]] = []
        covered = self._merged_cells(width)
        fills = [normalise_header(h) in self._fill for h in self._headers]
        top_left: dict[int, Any] = {}
        starts: dict[int, list[tuple[int, int]]] = {}
        for rid, (r1, _, c1, _) in enumerate(self._merged):
            if c1 < width:
                starts.setdefault(r1, []).append((rid, c1))
        emitted = False
        for number, row in enumerate(rows, start=self._header_row + 1):
            if not any(v is not None and v != "" for v in row):
                continue  # an empty row: counted, not data
            if len(row) > width and any(v is not None and v != "" for v in row[width:]):
                bad.append((number, MALFORMED_ROW))  # values in columns without a header
                continue
            values = [row[i] if i < len(row) else None for i in range(width)]
            for rid, c1 in starts.get(number, ()):
                top_left[rid] = values[c1]
            for col, rid in covered.get(number, ()):
                if values[col] is not None and values[col] != "":
                    continue
                if fills[col]:
                    values[col] = top_left.get(rid)
                else:
                    merged_issues.append((number, self._headers[col]))
            numbers.append(number)
            for i in range(width):
                columns[i].append(values[i])
            if len(numbers) == chunk_rows:
                yield self._chunk(columns, numbers, bad, merged_issues)
                columns, numbers, bad = [[] for _ in range(width)], [], []
                merged_issues, emitted = [], True
        if numbers or bad or not emitted:
            yield self._chunk(columns, numbers, bad, merged_issues)

    def _chunk(self, columns: list[list[Any]], numbers: list[int], bad: list[tuple[int, str]],
               merged: list[tuple[int, str]]) -> RawChunk:
        texts = {h: [cell_text(v) for v in col] for h, col in zip(self._headers, columns,
                                                                   strict=True)}
        issues = line_issues(bad)
        if merged:
            # The department's own header names the column; mapping turns it into the
            # contract column.
            cells = pd.DataFrame({"source_row": np.asarray([n for n, _ in merged], np.int64),
                                  "column": pd.Series([h for _, h in merged], dtype="string"),
                                  "rule": pd.Series([MERGED_CELL] * len(merged),
                                                    dtype="string")})
            issues = concat_issues([issues, cells])
        return RawChunk(frame_from_values(texts, np.asarray(numbers, dtype=np.int64)), issues)
