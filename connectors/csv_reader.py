"""CSV extracts: UTF-8, UTF-8 with BOM, GBK, GB18030, or detected (`encoding: auto`).

The file is read as blocks of whole lines. Each block is parsed by pyarrow (every column as
text); its rows get their physical line numbers by arithmetic, so the normal case has no
Python loop per row. Only a block that pyarrow cannot account for line by line (rows with the
wrong field count, blank lines next to quoted line breaks, bytes not in the encoding) is
parsed again with Python's csv module, which tracks lines exactly. Splitting on b"\\n" is safe
because no byte of a multibyte character in these encodings is 0x0A. Blocks are parsed one
ahead in a background thread (connectors.prefetch) while the caller maps the previous chunk.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from connectors.base import RawChunk
from connectors.cells import (
    ENCODING,
    ENCODING_FAILURE_SHARE,
    MALFORMED_ROW,
    NUL_BYTE,
    check_header_names,
    frame_from_arrow,
    line_issues,
)
from connectors.errors import EncodingMismatch, ExtractTruncated, ExtractUnreadable, SourceInvalid
from connectors.prefetch import prefetch
from connectors.sniff import (
    check_file,
    detect_encoding,
    read_sample,
    refuse_binary,
    suggest_encoding,
)
from connectors.source import SourceSpec

BLOCK_BYTES = 4 << 20
LEADING_ROWS = 30  # lines searched for a header below a title
CHUNK_BYTES = 32 << 20  # text per chunk, whatever the row count
MAX_LINE_BYTES = 64 << 20  # one CSV line this long is not a department extract
csv.field_size_limit(sys.maxsize // 2)  # a long address is data, not an attack

# A parsed block: the rows, their line numbers, the lines that were not rows (with the rule
# they broke), lines consumed.
Parsed = tuple[pa.Table, np.ndarray, list[tuple[int, str]], int]


def _count_lines(data: bytes) -> int:
    """Lines in a block (numpy counts newlines several times faster than bytes.count)."""
    if not data:
        return 0
    newlines = int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n")))
    return newlines + (0 if data.endswith(b"\n") else 1)


class CsvReader:
    def __init__(self, path: Path, spec: SourceSpec, max_bytes: int,
                 block_bytes: int = BLOCK_BYTES) -> None:
        self.path = path
        self.location = str(path)
        self._block_bytes = block_bytes
        self._delimiter = spec.delimiter
        self._header_row = spec.header_row
        self._declared = spec.encoding
        if len(spec.delimiter) != 1:
            raise SourceInvalid(f"source '{spec.name}'",
                                "`delimiter` must be one character (e.g. ',' or '\\t')")
        check_file(path, max_bytes)
        sample = read_sample(path)
        refuse_binary(self.location, sample)
        self.encoding = detect_encoding(self.location, sample, spec.encoding)
        # The BOM only exists before line 1; every later block is plain UTF-8.
        self._codec = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        fields, self._data_offset = self._read_header()
        # Excel's formatted-but-empty columns end the header with empty names: not columns.
        self._headers = list(fields)
        while self._headers and not self._headers[-1].strip():
            self._headers.pop()
        check_header_names(self.location, self._headers)
        self._names = [f"c{i}" for i in range(len(fields))]  # pyarrow needs unique names
        self._lines_read = 0
        self._undecodable: list[tuple[int, bytes]] = []  # (line, bytes) that did not decode

    def headers(self) -> list[str]:
        return list(self._headers)

    def leading_rows(self, limit: int = LEADING_ROWS) -> list[list[str]]:
        """The first lines as cells (to find a header below a title)."""
        with self.path.open("rb") as fh:
            raw = [fh.readline(MAX_LINE_BYTES) for _ in range(limit)]
        text = [r.decode(self._codec if i else self.encoding, errors="replace").rstrip("\r\n")
                for i, r in enumerate(raw) if r]
        return [next(csv.reader([t], delimiter=self._delimiter), []) for t in text]

    def _too_long(self, line: int) -> ExtractUnreadable:
        where = f"line {line}" if line else "a line"
        return ExtractUnreadable(self.location, f"{where} is longer than {MAX_LINE_BYTES:,} bytes",
                                 "this does not look like a CSV extract; check the file and "
                                 "the source's format with the hub's administrator")

    def _mismatch(self, block: bytes, first_line: int, pos: int) -> EncodingMismatch:
        line_start = block.rfind(b"\n", 0, pos) + 1
        line_end = block.find(b"\n", pos)
        line = block[line_start:] if line_end < 0 else block[line_start:line_end]
        other = suggest_encoding(line, self._codec)
        detected = " (detected from the start of the file)" if self._declared == "auto" else ""
        hint = (f"the line reads as {other}: save the file as UTF-8, or ask the hub's "
                f"administrator to set the source's encoding to {other}"
                if other else "the line is not text in any supported encoding; check the file")
        return EncodingMismatch(self.location, self._codec + detected,
                                first_line + block.count(b"\n", 0, pos), hint)

    def _read_header(self) -> tuple[list[str], int]:
        with self.path.open("rb") as fh:
            raw = b""
            for number in range(1, self._header_row + 1):
                raw = fh.readline(MAX_LINE_BYTES)
                if len(raw) == MAX_LINE_BYTES:
                    raise self._too_long(number)
                if not raw:
                    raise ExtractUnreadable(
                        self.location, f"the file ends before the header line {self._header_row}",
                        "if the header is on another line, ask the hub's administrator to set "
                        "the source's header_row")
            offset = fh.tell()
        codec = self.encoding if self._header_row == 1 else self._codec
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise self._mismatch(raw, self._header_row, exc.start) from exc
        fields = next(csv.reader([text.rstrip("\r\n")], delimiter=self._delimiter), [])
        if not any(f.strip() for f in fields):
            raise ExtractUnreadable(self.location, f"line {self._header_row} (the header) is empty",
                                    "if the header is on another line, ask the hub's "
                                    "administrator to set the source's header_row")
        return fields, offset

    def _blocks(self) -> Iterator[tuple[bytes, bool]]:
        """(whole lines, is the end of the file)."""
        carry = b""
        with self.path.open("rb") as fh:
            fh.seek(self._data_offset)
            while True:
                data = fh.read(self._block_bytes)
                buf = carry + data if carry else data
                if not data:
                    if buf:
                        yield buf, True
                    return
                cut = self._cut(buf)
                if cut <= 0:
                    if len(buf) > MAX_LINE_BYTES:
                        raise self._too_long(0)
                    carry = buf
                    continue
                block, carry = buf[:cut], buf[cut:]
                yield block, False

    @staticmethod
    def _cut(buf: bytes) -> int:
        """End of the last whole line, keeping a quoted field with line breaks in one block."""
        last = buf.rfind(b"\n")
        if last < 0 or b'"' not in buf or buf.count(b'"', 0, last + 1) % 2 == 0:
            return last + 1
        arr = np.frombuffer(buf, dtype=np.uint8, count=last + 1)
        quotes = np.cumsum(arr == ord('"'))
        newlines = np.flatnonzero(arr == ord("\n"))
        even = newlines[quotes[newlines] % 2 == 0]
        # No balanced cut at all means a stray quote, not a quoted field: cut anyway.
        return int(even[-1]) + 1 if len(even) else last + 1

    def _parse(self, first_line: int, block: bytes, is_last: bool) -> Parsed:
        if is_last and not block.endswith(b"\n"):
            # No line end after the last row: the file was cut, possibly inside a field
            # (2026-11-22 cut to 2026-11-2 still parses). Nothing of it is loaded.
            raise ExtractTruncated(self.location, first_line + block.count(b"\n"))
        parsed: Parsed | None = None
        if b"\x00" not in block:  # a NUL byte: only the slow path can name its line
            if self._codec == "utf-8":
                parsed = self._parse_fast(first_line, block)  # pyarrow validates UTF-8
            else:
                try:
                    parsed = self._parse_fast(first_line,
                                              block.decode(self._codec).encode("utf-8"))
                except UnicodeDecodeError:
                    parsed = None
        return self._tidy(*(parsed or self._parse_slow(first_line, block)))

    def _tidy(self, table: pa.Table, index: np.ndarray, bad: list[tuple[int, str]],
              lines: int) -> Parsed:
        """Drop what Excel leaves behind: columns without a header (a row with a value there
        is malformed) and rows whose every cell is empty. Neither counts as a bad row."""
        self._lines_read += lines
        width = len(self._headers)
        keep = np.ones(table.num_rows, dtype=bool)
        if table.num_columns > width:
            for col in table.columns[width:]:
                filled = np.asarray(pc.greater(pc.binary_length(col), 0).fill_null(False),
                                    dtype=bool)
                keep &= ~filled
            bad = bad + [(int(n), MALFORMED_ROW) for n in index[~keep]]
            table = table.select(list(range(width)))
        empty = np.ones(table.num_rows, dtype=bool)
        for col in table.columns:
            empty &= ~np.asarray(pc.greater(pc.binary_length(col), 0).fill_null(False),
                                 dtype=bool)
        keep &= ~empty
        if not keep.all():
            table, index = table.filter(pa.array(keep)), index[keep]
        return table, index, bad, lines

    def _check_undecodable(self) -> None:
        """A few lines that do not decode are quarantined; more mean a wrong encoding."""
        if not self._undecodable:
            return
        if len(self._undecodable) <= max(1.0, ENCODING_FAILURE_SHARE * self._lines_read):
            return
        line, raw = self._undecodable[0]
        raise self._mismatch(raw, line, 0)

    def _parse_fast(self, first_line: int, data: bytes) -> Parsed | None:
        if not data:
            return self._empty_table(), np.empty(0, dtype=np.int64), [], 0
        invalid = 0

        def skip(_row: object) -> str:
            nonlocal invalid
            invalid += 1
            return "skip"

        quoted = b'"' in data
        try:
            table = pcsv.read_csv(
                pa.BufferReader(data),
                read_options=pcsv.ReadOptions(column_names=self._names,
                                              block_size=max(len(data) // 2, 1 << 20) + 1),
                parse_options=pcsv.ParseOptions(delimiter=self._delimiter,
                                                newlines_in_values=quoted,
                                                invalid_row_handler=skip),
                convert_options=pcsv.ConvertOptions(
                    column_types=dict.fromkeys(self._names, pa.string())),
            )
        except pa.ArrowInvalid:
            return None  # e.g. bytes that are not UTF-8: the slow path finds the line
        if invalid:
            return None
        rows = table.num_rows
        lines = _count_lines(data)
        if rows == lines:  # no blank line, no quoted line break: one line per row
            return table, np.arange(first_line, first_line + rows, dtype=np.int64), [], lines
        if quoted:
            return None  # blank lines or quoted line breaks: only the slow path can tell
        # Blank lines (which pyarrow skips) are the only way to have fewer rows than lines.
        arr = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(arr == ord("\n"))
        if len(ends) < lines:
            ends = np.append(ends, len(arr))
        starts = np.concatenate(([0], ends[:-1] + 1))
        length = ends - starts
        first = arr[np.minimum(starts, len(arr) - 1)]
        empty = (length == 0) | ((length == 1) & (first == ord("\r")))
        numbers = first_line + np.flatnonzero(~empty).astype(np.int64)
        return (table, numbers, [], lines) if len(numbers) == rows else None

    def _parse_slow(self, first_line: int, block: bytes) -> Parsed:
        width = len(self._names)
        values: list[list[str]] = [[] for _ in range(width)]
        rows: list[int] = []
        bad: list[tuple[int, str]] = []
        # Lines end at "\n" only (as in the fast path): StringIO would also split at a lone CR.
        # A line that is not text (a NUL, a byte outside the encoding) is lost, not the file:
        # it is reported and read as a blank line.
        parts: list[str] = []
        for k, raw in enumerate(block.split(b"\n")):
            if b"\x00" in raw:
                bad.append((first_line + k, NUL_BYTE))
                parts.append("")
                continue
            try:
                parts.append(raw.decode(self._codec))
            except UnicodeDecodeError:
                bad.append((first_line + k, ENCODING))
                self._undecodable.append((first_line + k, raw))
                parts.append("")
        text_lines = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
        reader = csv.reader(iter(text_lines), delimiter=self._delimiter)
        done = 0  # lines consumed before the current record
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error:  # e.g. a stray CR: this record is lost, not the file
                bad.append((first_line + done, MALFORMED_ROW))
                done = reader.line_num
                continue
            start, done = first_line + done, reader.line_num
            if not record or (len(record) == 1 and width > 1 and not record[0].strip()):
                continue  # a blank line: counted, not a row
            if len(record) == len(self._headers) < width:
                record += [""] * (width - len(record))  # no commas for the empty columns
            if len(record) != width:
                bad.append((start, MALFORMED_ROW))
                continue
            rows.append(start)
            for col, value in zip(values, record, strict=True):
                col.append(value)
        table = pa.table({n: pa.array(v, pa.string()) for n, v in zip(self._names, values,
                                                                        strict=True)})
        return table, np.asarray(rows, dtype=np.int64), bad, _count_lines(block)

    def _empty_table(self) -> pa.Table:
        return pa.table({n: pa.array([], pa.string()) for n in self._names[:len(self._headers)]})

    def _chunk(self, table: pa.Table, index: np.ndarray, bad: list[tuple[int, str]]
               ) -> RawChunk:
        columns = dict(zip(self._headers, table.columns, strict=True))
        return RawChunk(frame_from_arrow(columns, index), line_issues(bad))

    def _parsed(self) -> Iterator[Parsed]:
        line = self._header_row + 1
        for block, is_last in self._blocks():
            parsed = self._parse(line, block, is_last)
            line += parsed[3]
            yield parsed
        self._check_undecodable()

    def chunks(self, chunk_rows: int) -> Iterator[RawChunk]:
        """Chunks of `chunk_rows` rows, or fewer once they hold CHUNK_BYTES of text: wide
        rows must not make a chunk (and the worker's memory) unbounded."""
        tables: list[pa.Table] = []
        indexes: list[np.ndarray] = []
        bad: list[tuple[int, str]] = []
        pending = held = 0
        emitted = False
        for table, index, block_bad, _ in prefetch(self._parsed()):
            tables.append(table)
            indexes.append(index)
            bad.extend(block_bad)
            pending += table.num_rows
            held += table.nbytes
            while pending >= chunk_rows or (held >= CHUNK_BYTES and pending):
                take = min(chunk_rows, pending)
                whole = pa.concat_tables(tables)
                index_all = np.concatenate(indexes)
                yield self._chunk(whole.slice(0, take), index_all[:take], bad)
                emitted, bad = True, []
                tables, indexes = [whole.slice(take)], [index_all[take:]]
                pending -= take
                held = tables[0].nbytes if pending else 0
        if pending or bad or not emitted:
            whole = pa.concat_tables(tables) if tables else self._empty_table()
            index_all = np.concatenate(indexes) if indexes else np.empty(0, dtype=np.int64)
            yield self._chunk(whole, index_all, bad)
