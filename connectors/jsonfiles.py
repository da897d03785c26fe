"""JSON extracts: one document (an array of records, or an object holding it at
`records_path`) or JSON Lines (one record per line, streamed).

A whole JSON document has to be parsed at once, so it is capped (JSON_DOCUMENT_MAX_BYTES);
larger extracts should come as JSON Lines. Row numbers: the 1-based ordinal of the record in
a document; the physical line number in JSON Lines (blank lines count, as in CSV).
Numbers are parsed as Decimal so that "12.50" and 18-digit integers keep their digits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from connectors.base import RawChunk
from connectors.cells import (
    ENCODING,
    ENCODING_FAILURE_SHARE,
    MALFORMED_ROW,
    NUL_BYTE,
    check_header_names,
    frame_from_values,
    line_issues,
)
from connectors.errors import EncodingMismatch, ExtractTruncated, ExtractUnreadable
from connectors.sniff import check_file, read_sample, refuse_binary
from connectors.source import SourceSpec

# A parsed document costs many times its size in Python objects: past this, JSON Lines.
JSON_DOCUMENT_MAX_BYTES = 32 * 1024**2
MAX_LINE_BYTES = 64 * 1024**2  # one JSON Lines record this long is not a department extract
CHUNK_BYTES = 32 * 1024**2  # text per chunk, whatever the row count
HEADER_SCAN_RECORDS = 10_000  # JSON Lines: records looked at to learn the headers


def dig(body: Any, path: str | None) -> Any:
    """The value at a dotted path ("result.items"); None/"" means the body itself."""
    for key in (path or "").split("."):
        if not key:
            continue
        if not isinstance(body, dict) or key not in body:
            return None
        body = body[key]
    return body


def record_keys(records: list[Any], keys: dict[str, None] | None = None) -> dict[str, None]:
    """Keys of the records in order of first appearance (a dict used as an ordered set)."""
    keys = {} if keys is None else keys
    for rec in records:
        if isinstance(rec, dict):
            keys.update(dict.fromkeys(rec))
    return keys


def records_chunk(records: list[Any], numbers: list[int], keys: dict[str, None]) -> RawChunk:
    """A RawChunk of JSON-like records; anything that is not an object is a malformed row
    (or breaks the rule its `_Bad` marker names)."""
    good = [(n, r) for n, r in zip(numbers, records, strict=True) if isinstance(r, dict)]
    bad = [(n, r.rule if isinstance(r, _Bad) else MALFORMED_ROW)
           for n, r in zip(numbers, records, strict=True) if not isinstance(r, dict)]
    record_keys([r for _, r in good], keys)
    columns = {k: [r.get(k) for _, r in good] for k in keys}
    index = np.asarray([n for n, _ in good], dtype=np.int64)
    return RawChunk(frame_from_values(columns, index), line_issues(bad))


def _loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


class JsonReader:
    def __init__(self, path: Path, spec: SourceSpec, max_bytes: int) -> None:
        self.path = path
        self.location = str(path)
        self._records_path = spec.records_path
        size = check_file(path, max_bytes)
        if size > JSON_DOCUMENT_MAX_BYTES:
            raise ExtractUnreadable(
                self.location, f"a JSON document of {size:,} bytes is over the "
                f"{JSON_DOCUMENT_MAX_BYTES:,}-byte limit for whole documents",
                "send it as JSON Lines (one record per line, `format: jsonl`)")
        refuse_binary(self.location, read_sample(path))
        self._records: list[Any] | None = None

    def _load(self) -> list[Any]:
        if self._records is None:
            try:
                body = _loads(self.path.read_bytes())
            except UnicodeDecodeError as exc:
                raise ExtractUnreadable(self.location, "not UTF-8 text",
                                        "JSON must be UTF-8; save it as UTF-8") from exc
            except json.JSONDecodeError as exc:
                raise ExtractUnreadable(
                    self.location, f"not valid JSON (line {exc.lineno}, column {exc.colno})",
                    "check the file is complete; large extracts should be JSON Lines") from exc
            records = dig(body, self._records_path)
            if not isinstance(records, list):
                where = f"at '{self._records_path}'" if self._records_path else "at the top level"
                raise ExtractUnreadable(self.location, f"no list of records {where}",
                                        "ask the hub's administrator where the records are "
                                        "(the source's records_path)")
            self._records = records
        return self._records

    def headers(self) -> list[str]:
        headers = list(record_keys(self._load()))
        check_header_names(self.location, headers)
        return headers

    def chunks(self, chunk_rows: int) -> Iterator[RawChunk]:
        records = self._load()
        keys = record_keys(records)
        for start in range(0, max(len(records), 1), chunk_rows):
            part = records[start:start + chunk_rows]
            yield records_chunk(part, list(range(start + 1, start + len(part) + 1)), keys)


class JsonLinesReader:
    def __init__(self, path: Path, spec: SourceSpec, max_bytes: int) -> None:
        self.path = path
        self.location = str(path)
        check_file(path, max_bytes)
        refuse_binary(self.location, read_sample(path))

    def _lines(self) -> Iterator[tuple[int, Any]]:
        """(line number, record), or a `_Bad` marker for a line that is not a JSON record."""
        for number, record, _ in self._sized_lines():
            yield number, record

    def _sized_lines(self) -> Iterator[tuple[int, Any, int]]:
        """(line number, record or a `_Bad` marker, bytes of the line).

        A last line without a line end that is not valid JSON was cut off: the file is
        refused. A line that is not UTF-8 is quarantined, unless so many are that the file
        is in another encoding."""
        undecodable: list[int] = []
        number = 0
        with self.path.open("rb") as fh:
            for number, raw in enumerate(iter(lambda: fh.readline(MAX_LINE_BYTES + 1), b""),
                                         start=1):
                if len(raw) > MAX_LINE_BYTES:
                    raise ExtractUnreadable(self.location, f"line {number} is longer than "
                                            f"{MAX_LINE_BYTES:,} bytes",
                                            "one record per line; check the export")
                line = raw.removeprefix(b"\xef\xbb\xbf") if number == 1 else raw
                if not line.strip():
                    continue
                if b"\x00" in line:
                    yield number, _NUL, len(raw)
                    continue
                try:
                    record = _loads(line.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    if not line.endswith(b"\n"):
                        raise ExtractTruncated(self.location, number) from exc
                    if isinstance(exc, UnicodeDecodeError):
                        undecodable.append(number)
                        yield number, _UNDECODABLE, len(raw)
                    else:
                        yield number, _BAD, len(raw)
                    continue
                yield number, record, len(raw)
        if len(undecodable) > max(1.0, ENCODING_FAILURE_SHARE * number):
            raise EncodingMismatch(self.location, "utf-8", undecodable[0],
                                   "JSON Lines must be UTF-8; export it again as UTF-8")

    def headers(self) -> list[str]:
        keys: dict[str, None] = {}
        for seen, (_, record) in enumerate(self._lines()):
            if seen >= HEADER_SCAN_RECORDS:
                break
            if isinstance(record, dict):
                keys.update(dict.fromkeys(record))
        headers = list(keys)
        check_header_names(self.location, headers)
        return headers

    def chunks(self, chunk_rows: int) -> Iterator[RawChunk]:
        """Chunks of `chunk_rows` records, or fewer once they hold CHUNK_BYTES of text: wide
        records must not make a chunk (and the worker's memory) unbounded."""
        keys: dict[str, None] = {}
        records: list[Any] = []
        numbers: list[int] = []
        held = 0
        emitted = False
        for number, record, size in self._sized_lines():
            records.append(record)
            numbers.append(number)
            held += size
            if len(records) == chunk_rows or held >= CHUNK_BYTES:
                yield records_chunk(records, numbers, keys)
                records, numbers, held, emitted = [], [], 0, True
        if records or not emitted:
            yield records_chunk(records, numbers, keys)


class _Bad:
    """Marks a line that is not a JSON record, with the rule it breaks; not a dict, so
    records_chunk reports it as a row issue."""

    def __init__(self, rule: str) -> None:
        self.rule = rule


_BAD = _Bad(MALFORMED_ROW)
_UNDECODABLE = _Bad(ENCODING)
_NUL = _Bad(NUL_BYTE)
