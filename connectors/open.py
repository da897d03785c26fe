"""One entry point from a source YAML to a reader of its extract."""

from __future__ import annotations

from pathlib import Path

import httpx

from connectors.base import Reader
from connectors.csv_reader import CsvReader
from connectors.errors import SourceInvalid
from connectors.excel import XlsxReader
from connectors.http import HttpReader
from connectors.jsonfiles import JsonLinesReader, JsonReader
from connectors.parquet_reader import ParquetReader
from connectors.source import FILE_FORMATS, SourceFormat, SourceSpec
from connectors.sql import SqlReader

DEFAULT_MAX_BYTES = 512 * 1024**2  # a monthly department extract; hub passes its setting


def open_reader(spec: SourceSpec, location: Path | None = None, *,
                max_bytes: int = DEFAULT_MAX_BYTES,
                transport: httpx.BaseTransport | None = None) -> Reader:
    """A reader for the extract `spec` describes.

    File formats read `location` (the uploaded or dropped file); its size is checked against
    `max_bytes` before anything is read. SQL and HTTP sources read `spec.sql` / `spec.http`;
    `transport` lets a caller substitute the HTTP transport (httpx.MockTransport in tests).
    Raises ExtractUnreadable for a file that cannot be read at all, SourceInvalid for a
    spec that cannot work.
    """
    if spec.format in FILE_FORMATS:
        if location is None:
            raise SourceInvalid(f"source '{spec.name}'",
                                f"format {spec.format} reads a file, but no file was given")
        path = Path(location)
        if spec.format == SourceFormat.CSV:
            return CsvReader(path, spec, max_bytes)
        if spec.format == SourceFormat.XLSX:
            return XlsxReader(path, spec, max_bytes)
        if spec.format == SourceFormat.JSON:
            return JsonReader(path, spec, max_bytes)
        if spec.format == SourceFormat.JSONL:
            return JsonLinesReader(path, spec, max_bytes)
        return ParquetReader(path, spec, max_bytes)
    if spec.format == SourceFormat.SQL:
        return SqlReader(spec)
    return HttpReader(spec, transport=transport)
