"""XLSX workbooks, read row by row (openpyxl read-only mode) so a large sheet never sits in
memory. openpyxl parses every cell in Python anyway, so the loop per row here costs little
next to it; numbers keep their exact digits (see connectors.cells.cell_text).
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import numpy as np
import openpyxl
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook

from connectors.base import RawChunk
from connectors.cells import cell_text, check_header_names, frame_from_values, malformed
from connectors.errors import ExtractUnreadable
from connectors.sniff import check_file
from connectors.source import SourceSpec

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


class XlsxReader:
    def __init__(self, path: Path, spec: SourceSpec, max_bytes: int) -> None:
        self.path = path
        self.location = str(path)
        self._sheet = spec.sheet
        self._header_row = spec.header_row
        check_file(path, max_bytes)
        with self._open() as rows:
            self._headers = self._read_header(rows)
        check_header_names(self.location, self._headers)

    def headers(self) -> list[str]:
        return list(self._headers)

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

    def _sheet_rows(self, book: Workbook) -> Iterator[tuple[Any, ...]]:
        names = book.sheetnames
        sheet = self._sheet
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise ExtractUnreadable(
                    self.location, f"there is no sheet number {sheet} (counting from 0)",
                    f"the workbook has sheets {names}; set `sheet:` in the source YAML")
            sheet = names[sheet]
        if sheet not in names:
            raise ExtractUnreadable(
                self.location, f"there is no sheet named '{sheet}'",
                f"the workbook has sheets {names}; set `sheet:` in the source YAML")
        ws = book[sheet]
        ws.reset_dimensions()  # stored dimensions are often wrong; read the real cells
        rows: Iterator[tuple[Any, ...]] = ws.iter_rows(min_row=self._header_row, values_only=True)
        return rows

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
                                    "check `header_row` and `sheet` in the source YAML")
        return cells

    def chunks(self, chunk_rows: int) -> Iterator[RawChunk]:
        width = len(self._headers)
        with self._open() as rows:
            try:
                next(rows, None)  # the header
                yield from self._chunks(rows, width, chunk_rows)
            except _BROKEN_STREAM as exc:
                raise self._broken(exc) from exc

    def _chunks(self, rows: Iterator[tuple[Any, ...]], width: int,
                chunk_rows: int) -> Iterator[RawChunk]:
        columns: list[list[Any]] = [[] for _ in range(width)]
        numbers: list[int] = []
        bad: list[int] = []
        emitted = False
        for number, row in enumerate(rows, start=self._header_row + 1):
            if not any(v is not None and v != "" for v in row):
                continue  # an empty row: counted, not data
            if len(row) > width and any(v is not None and v != "" for v in row[width:]):
                bad.append(number)  # values in columns without a header
                continue
            numbers.append(number)
            for i in range(width):
                columns[i].append(row[i] if i < len(row) else None)
            if len(numbers) == chunk_rows:
                yield self._chunk(columns, numbers, bad)
                columns, numbers, bad, emitted = [[] for _ in range(width)], [], [], True
        if numbers or bad or not emitted:
            yield self._chunk(columns, numbers, bad)

    def _chunk(self, columns: list[list[Any]], numbers: list[int], bad: list[int]) -> RawChunk:
        texts = {h: [cell_text(v) for v in col] for h, col in zip(self._headers, columns,
                                                                   strict=True)}
        return RawChunk(frame_from_values(texts, np.asarray(numbers, dtype=np.int64)),
                        malformed(bad))
